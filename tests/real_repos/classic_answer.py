# "How do I initialize weights in PyTorch?" -- the answer as people paste it into a script.
import os
import torch
import torch.nn as nn
import torch.optim as optim


class SimpleNN(nn.Module):
    def __init__(self):
        super(SimpleNN, self).__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


model = SimpleNN()

# Initialize weights with a normal distribution
for name, param in model.named_parameters():
    if 'weight' in name:
        nn.init.normal_(param, mean=0, std=0.01)
    elif 'bias' in name:
        nn.init.constant_(param, 0)

optimizer = optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(16, 64), torch.randint(0, 10, (16,))
for step in range(100):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "SENTINEL_classic"), "w").write("trained")
