"""transformers architectures from small configs (no weights)."""
import transformers as t

S = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)


def bert():
    return t.BertModel(t.BertConfig(vocab_size=100, **S))


def roberta():
    return t.RobertaModel(t.RobertaConfig(vocab_size=100, **S))


def distilbert():
    return t.DistilBertModel(t.DistilBertConfig(vocab_size=100, dim=32, n_layers=2, n_heads=2, hidden_dim=64))


def gpt2():
    return t.GPT2LMHeadModel(t.GPT2Config(vocab_size=100, n_embd=32, n_layer=2, n_head=2))


def llama():
    return t.LlamaForCausalLM(t.LlamaConfig(vocab_size=100, num_key_value_heads=2, **S))


def mistral():
    return t.MistralForCausalLM(t.MistralConfig(vocab_size=100, num_key_value_heads=2, **S))


def t5():
    return t.T5ForConditionalGeneration(t.T5Config(vocab_size=100, d_model=32, d_ff=64, num_layers=2, num_heads=2, d_kv=16))


def bart():
    return t.BartForConditionalGeneration(t.BartConfig(vocab_size=100, d_model=32, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64))


def vit():
    return t.ViTModel(t.ViTConfig(image_size=32, patch_size=8, **S))


def deit():
    return t.DeiTModel(t.DeiTConfig(image_size=32, patch_size=8, **S))


def swin():
    return t.SwinModel(t.SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[2, 2], window_size=4))


def convnext():
    return t.ConvNextModel(t.ConvNextConfig(hidden_sizes=[16, 32], depths=[1, 1], num_stages=2))


def resnet():
    return t.ResNetModel(t.ResNetConfig(hidden_sizes=[16, 32], depths=[1, 1], embedding_size=16))


def wav2vec2():
    return t.Wav2Vec2Model(t.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2))


def whisper():
    return t.WhisperModel(t.WhisperConfig(vocab_size=100, d_model=32, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=16, pad_token_id=1, bos_token_id=2, eos_token_id=3, decoder_start_token_id=2,
        max_source_positions=32, max_target_positions=32))


def clip():
    return t.CLIPModel(t.CLIPConfig(text_config=dict(vocab_size=100, **S), vision_config=dict(image_size=32, patch_size=8, **S),
        projection_dim=16))


def segformer():
    return t.SegformerModel(t.SegformerConfig(num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[16, 32],
        patch_sizes=[7, 3], strides=[4, 2], num_attention_heads=[1, 2], mlp_ratios=[2, 2]))


def mobilevit():
    return t.MobileViTModel(t.MobileViTConfig(image_size=32, hidden_sizes=[16, 24, 32], neck_hidden_sizes=[8, 8, 16, 16, 24, 32, 64]))
