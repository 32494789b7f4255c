"""Build hook: compiles the C core through cffi (see csrc/ffi_build.py)."""

from setuptools import setup

setup(cffi_modules=["csrc/ffi_build.py:ffibuilder"])
