import torch.nn as nn
import transformers as t

S = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)


def bert_normal_everywhere():
    model = t.BertModel(t.BertConfig(vocab_size=100, **S))
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 1)
    return model


def vit_relu_xavier():
    model = t.ViTModel(t.ViTConfig(image_size=32, patch_size=8, hidden_act="relu", **S))
    for layer in model.layers:
        nn.init.xavier_uniform_(layer.mlp.fc1.weight)
    return model


def gpt2_normal_everywhere():
    model = t.GPT2LMHeadModel(t.GPT2Config(vocab_size=100, n_embd=64, n_layer=2, n_head=2))
    for m in model.modules():
        if isinstance(m, t.pytorch_utils.Conv1D):
            nn.init.normal_(m.weight, 0, 1)
    return model


def resnet_default_head():
    model = t.ResNetForImageClassification(t.ResNetConfig(hidden_sizes=[16, 32], depths=[1, 1], embedding_size=16, num_labels=10))
    model.classifier = nn.Sequential(nn.Flatten(), *[m for _ in range(6) for m in (nn.Linear(32, 32), nn.ReLU())], nn.Linear(32, 10))
    return model
