"""Framework-free helpers shared by the Keras and PyTorch scripts.

Nothing in this package imports torch or tensorflow: importing TensorFlow and
then torch's triton in one process segfaults on Linux, so each script imports
exactly one framework and everything shared stays plain numpy.
"""
from common.entry import install_interrupt_hook

# Every command of this repository imports this package before anything else of its own: from here on a
# Ctrl-C is one line and exit code 130 (common.entry), never a traceback from the middle of an import.
install_interrupt_hook()
