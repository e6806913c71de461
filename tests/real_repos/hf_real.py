"""transformers architectures at their default (real) sizes."""
import transformers as t


def bert():
    return t.BertModel(t.BertConfig())


def gpt2():
    return t.GPT2LMHeadModel(t.GPT2Config())


def t5():
    return t.T5ForConditionalGeneration(t.T5Config())


def vit():
    return t.ViTModel(t.ViTConfig())


def swin():
    return t.SwinModel(t.SwinConfig())


def convnext():
    return t.ConvNextModel(t.ConvNextConfig())


def resnet():
    return t.ResNetModel(t.ResNetConfig())


def wav2vec2():
    return t.Wav2Vec2Model(t.Wav2Vec2Config())


def bart():
    return t.BartForConditionalGeneration(t.BartConfig())


def segformer():
    return t.SegformerModel(t.SegformerConfig())


def mobilevit():
    return t.MobileViTModel(t.MobileViTConfig())


def distilbert():
    return t.DistilBertModel(t.DistilBertConfig())
