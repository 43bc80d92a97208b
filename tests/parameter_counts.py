"""Trainable parameters of every model, from the report's layer lists (arithmetic by hand, once).

The frameworks are never imported into one process, so parity between them is checked here: each
framework's tests build its models and compare with the same number. Keras model7 and PyTorch
PraisyNet are one architecture (789,322); model1 is one architecture in both (216,650 on MNIST).
ResNet50 differs by Keras' convolution biases (26,560).
"""
MODEL7 = 789_322
RESNET50 = {"keras": 23_555_082, "pytorch": 23_528_522}  # ResNet50(include_top=False) + Dense 10 / fc
FROZEN_RESNET50 = 2048 * 10 + 10  # --freeze-backbone: only the new classifier trains
KERAS_CONV_BIASES = 26_560

PARAMS = {
    "keras/ex1_mnist.py": {"model1": 216_650, "model2": 657_162, "model3": 545_162, "model4": 303_242,
                           "model5": 1_118_474, "lab3": 101_770},
    "pytorch/ex1_mnist.py": {"model1": 216_650, "old_model1": 216_650, "model2": 94_298, "model3": 94_298,
                             "model4": 928_314, "lab3": 101_770},
    "keras/ex2_cifar10.py": {"model1": 288_906, "model5": 1_193_354, "model6": 621_194, "model7": MODEL7,
                             "lab3": 394_634},
    "pytorch/ex2_cifar10.py": {"model1": 288_906, "model4": 1_306_298, "model5": 916_762},
    "keras/ex3_augmentation.py": {"model8": MODEL7, "model9": MODEL7, "model10": MODEL7},
    "pytorch/ex3_augmentation.py": {"PraisyNet": MODEL7, "PraisyNetDA": MODEL7},
    "keras/ex4_resnet.py": {"MyResNet": RESNET50["keras"], "MyResNetDA": RESNET50["keras"]},
    "pytorch/ex4_resnet.py": {"MyResNet": RESNET50["pytorch"], "MyResNetDA": RESNET50["pytorch"]},
}
