"""Layer lists the report uses in more than one exercise script.

Keras model7 (report, Keras section 2.4) is the base of Keras exercise 3
(model8-10, the same layers behind augmentation) and, layer for layer, the
architecture of PyTorch exercise 3's PraisyNet ("matching the one we used on
the Keras version"). It is written once here so the three scripts cannot
drift apart; tests check that both frameworks build it with 789,322
trainable parameters.
"""
from common.architectures import BatchNorm, Conv, Dense, Flatten, MaxPool

# Conv2D: filters, kernel (stride 1, 'valid'); MaxPooling: size, stride ('valid').
MODEL7 = (
    Conv(64, 5), Conv(64, 5), MaxPool(2, 2), BatchNorm(),
    Conv(128, 5), Conv(128, 5), MaxPool(2, 2), BatchNorm(),
    Flatten(), Dense(128, "relu"), Dense(10, "softmax"),
)
