"""Numba kernels that import Numba only when first called compiled, with Python forms.

The compiler's kernels are written for Numba (``@njit``), but a small network does not
need them: importing Numba and building its CPU target costs about a second in every
process, and compiling the kernels on a machine's first run about ten. So the compiler's
modules decorate their kernels with :func:`njit` from here, which returns a
:class:`Kernel`:

* called normally, a kernel imports Numba (once per process), compiles or loads itself
  from the on-disk cache and runs compiled, exactly as a ``numba.njit`` function does;
* inside :func:`python_forms` (``compiler.pipeline`` turns it on for small networks),
  a kernel that has a Python form runs that instead: either the kernel's own code run by
  the interpreter (``njit(python=True)``: fast enough on small inputs, the same code) or a
  numpy form registered with :meth:`Kernel.python_form` (tests check both give the same
  results as the compiled kernel). Kernels without one always run compiled.

A compiled kernel that calls another one sees it through Numba's ``typeof`` (registered
when Numba is first loaded), and ``inline="always"`` works as for a plain dispatcher
(Numba's inliner asks for ``targetoptions`` and ``py_func``).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from typing import Any, Callable, Iterator

__all__ = ["Kernel", "njit", "python_forms", "when_loaded", "numba_loaded"]

_PYTHON: contextvars.ContextVar[bool] = contextvars.ContextVar("neurocomp_python_forms", default=False)
_numba: Any = None
_on_load: list[Callable[[], None]] = []


class Kernel:
    """A function compiled by Numba on its first compiled call (see the module docstring)."""

    def __init__(self, func: Callable, options: dict[str, Any], python: bool) -> None:
        functools.update_wrapper(self, func)
        self.py_func = func
        self.targetoptions = dict(options)  # what Numba's inliner reads
        self._python: Callable | None = func if python else None
        self._dispatcher: Any = None

    def python_form(self, form: Callable) -> Callable:
        """Decorator: ``form`` (same arguments and results) runs inside :func:`python_forms`."""
        self._python = form
        return form

    @property
    def has_python_form(self) -> bool:
        return self._python is not None

    @property
    def compiled(self) -> Any:
        """The Numba dispatcher (imports Numba the first time)."""
        if self._dispatcher is None:
            self._dispatcher = _load().njit(**self.targetoptions)(self.py_func)
        return self._dispatcher

    def run_python(self, *args: Any) -> Any:
        """Run the Python form (and those of the kernels it calls), e.g. to compare it with
        the compiled kernel."""
        if self._python is None:
            raise TypeError(f"{self!r} has no Python form")
        with python_forms():
            return self._python(*args)

    def __call__(self, *args: Any) -> Any:
        if self._python is not None and _PYTHON.get():
            return self._python(*args)
        return self.compiled(*args)

    def __repr__(self) -> str:
        return f"<kernel {self.__module__}.{self.__qualname__}>"


def njit(*, python: bool = False, **options: Any) -> Callable[[Callable], Kernel]:
    """``numba.njit(**options)``, deferred (see the module docstring). ``python=True``: the
    kernel's own code may run in the interpreter inside :func:`python_forms`."""
    def wrap(func: Callable) -> Kernel:
        return Kernel(func, options, python)

    return wrap


@contextlib.contextmanager
def python_forms(on: bool = True) -> Iterator[None]:
    """Within this block (this thread / task), kernels with a Python form run it."""
    token = _PYTHON.set(on)
    try:
        yield
    finally:
        _PYTHON.reset(token)


def numba_loaded() -> bool:
    """Whether a kernel has loaded Numba in this process."""
    return _numba is not None


def when_loaded(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` right after a kernel first imports Numba (now, if one has); returns a
    function that forgets it."""
    if _numba is not None:
        callback()
        return lambda: None
    _on_load.append(callback)

    def forget() -> None:
        if callback in _on_load:
            _on_load.remove(callback)

    return forget


def _load() -> Any:
    global _numba
    if _numba is None:
        import numba
        from numba.extending import typeof_impl

        @typeof_impl.register(Kernel)
        def _typeof_kernel(val: Kernel, c: Any) -> Any:
            return numba.typeof(val.compiled)  # a call from a kernel: the dispatcher's type

        _numba = numba
        for callback in list(_on_load):
            callback()
        _on_load.clear()
    return _numba
