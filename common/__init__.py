"""Framework-free helpers shared by the Keras and PyTorch scripts.

Nothing in this package imports torch or tensorflow: importing TensorFlow and
then torch's triton in one process segfaults on Linux, so each script imports
exactly one framework and everything shared stays plain numpy.
"""
