"""DeriveCert: identification and certification of medical and health derived data.

Reference implementation of the group standard 《医疗健康领域衍生数据认定标准》.
"""

__version__ = "0.1.0"
