"""Reference models and data fixtures for the chapter 3 hidden checks (trusted process only).

Test modules cannot import this file by name under --import-mode=importlib, so it offers fixtures: ``ref``
(reference implementations, computed here, never sent to the worker) and ``digits`` (the data of the training
gate). The helpers that talk to the worker live in ``autograder.checks``; the ``student`` fixture comes from the
grader.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from autograder.checks.cache import per_process


# ---------------------------------------------------------------------------- reference models


class DigitCNNRef(nn.Module):
    """02_cnn_structure: the architecture the students are asked for."""

    def __init__(self, in_channels=1, num_classes=10, image_size=8):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        n_flat = 32 * (image_size // 4) ** 2
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(n_flat, 64), nn.ReLU(), nn.Linear(64, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def make_digit_model_ref(num_classes=10, image_size=8):
    """03_image_classification: the same model the notebook's locked cell builds."""
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * (image_size // 4) ** 2, num_classes),
    )


def vgg_block_ref(in_channels, out_channels, num_convs):
    layers = []
    for i in range(num_convs):
        layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1, bias=False),
                   nn.BatchNorm2d(out_channels), nn.ReLU()]
    return nn.Sequential(*layers, nn.MaxPool2d(2, 2))


class ResidualBlockRef(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + self.shortcut(x))


class SmallResNetRef(nn.Module):
    def __init__(self, in_channels=1, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(ResidualBlockRef(16, 16), ResidualBlockRef(16, 32, 2), ResidualBlockRef(32, 64, 2))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


@pytest.fixture
def ref():
    return SimpleNamespace(DigitCNN=DigitCNNRef, make_digit_model=make_digit_model_ref, vgg_block=vgg_block_ref,
                           ResidualBlock=ResidualBlockRef, SmallResNet=SmallResNetRef)


# ---------------------------------------------------------------------------- data

@per_process
def _digit_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    X = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(data.target, dtype=torch.int64)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    mean = X_train.mean(dim=(0, 2, 3), keepdim=True)
    std = X_train.std(dim=(0, 2, 3), keepdim=True)
    return (X_train - mean) / std, y_train, (X_test - mean) / std, y_test


@pytest.fixture
def digits():
    """load_digits split as in the notebook, standardised here with the training statistics.

    Returns (X_train, y_train, X_test, y_test) as CPU tensors; y_test never leaves this process. Computed once per
    grading process.
    """
    return _digit_split()


@per_process
def _trained_state():
    X_train, y_train, _, _ = _digit_split()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = make_digit_model_ref()
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        model.train()
        for _ in range(3):
            order = torch.randperm(len(X_train))
            for start in range(0, len(X_train), 32):
                idx = order[start:start + 32]
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(X_train[idx]), y_train[idx]).backward()
                optimizer.step()
    c, shift = 0.5, 3.0
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                sd = (module.running_var + module.eps).sqrt()
                module.running_var.copy_(c * c * sd * sd - module.eps)
                module.weight.mul_(c)
                module.running_mean.add_(shift * sd)
                module.bias.add_(module.weight * shift / c)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.fixture
def trained_digit_state():
    """A state dict for make_digit_model: trained here (3 epochs), then its batch norms re-parametrised.

    The re-parametrisation keeps the model's function in evaluation mode exactly (running variance
    times c², weight times c, running mean and bias shifted together) but changes it in training
    mode, where batch statistics replace the running ones: there the activations are scaled by c and
    shifted, and most predictions change. So a predict() that forgets model.eval() gives visibly
    different labels, while in eval mode the model is an ordinary ~97 % accurate classifier. Computed once per
    grading process.
    """
    return _trained_state()
