"""A failed write leaves the previous output as it was, and says why in one line.

Failures are simulated where the machine would raise them: ``os.fsync`` or ``np.savez``
raising the ``OSError`` a full disk gives (ENOSPC), and, through the command line, a real
file-size limit (``ulimit -f``, RLIMIT_FSIZE) that makes the kernel refuse the write
(EFBIG). The previous files are compared byte for byte.
"""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp import atomic
from neurocomp.cli import main
from neurocomp.diagnostics import OutputFileError

ROOT = Path(__file__).resolve().parent.parent
CHAIN = ROOT / "examples" / "chain.snn"


@pytest.fixture(scope="module")
def chain_mapping():
    return nc.compile(nc.load(CHAIN), chip="loihi")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _full_disk_on_call(monkeypatch, n: int):
    """``os.fsync`` raises ENOSPC on its ``n``-th call (1-based): that file's bytes were
    written to the temporary file, none renamed."""
    calls = {"n": 0}
    real = os.fsync

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)
    monkeypatch.setattr(atomic.os, "fsync", fsync)


@pytest.mark.parametrize("failing", [1, 2], ids=["the arrays", "the json"])
def test_a_failed_mapping_save_keeps_the_previous_pair(chain_mapping, tmp_path, monkeypatch, failing):
    chain_mapping.save(tmp_path / "m.map.json")
    before = _snapshot(tmp_path)
    other = nc.compile(nc.load(ROOT / "examples" / "encoders.snn"), chip="loihi")
    _full_disk_on_call(monkeypatch, failing)
    with pytest.raises(OutputFileError) as info:
        other.save(tmp_path / "m.map.json")
    text = info.value.render()
    assert "No space left on device" in text and "the disk is full" in text
    assert _snapshot(tmp_path) == before  # same names (no temporary left), same bytes
    monkeypatch.undo()
    assert nc.ir.mapping.Mapping.load(tmp_path / "m.map.json").diff(chain_mapping) is None


def test_a_save_that_fails_inside_numpy_keeps_the_previous_file(tmp_path, monkeypatch):
    atomic.save_npz(tmp_path / "a.npz", {"x": np.arange(3, dtype=np.int64)})
    before = _snapshot(tmp_path)

    def half_written(fh, **arrays):
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(np, "savez", half_written)
    with pytest.raises(OutputFileError, match="cannot write '.*a.npz': No space left on device"):
        atomic.save_npz(tmp_path / "a.npz", {"x": np.arange(10**5, dtype=np.int64)})
    assert _snapshot(tmp_path) == before


def test_a_written_file_has_the_usual_permissions(tmp_path):
    """The temporary file is private (0600) while written; the result is 0666 less the umask."""
    mask = os.umask(0o022)
    try:
        path = atomic.write_text(tmp_path / "x.txt", "hello\n")
    finally:
        os.umask(mask)
    assert path.read_text() == "hello\n" and (path.stat().st_mode & 0o777) == 0o644


def test_a_failed_run_folder_keeps_the_previous_run(chain_mapping, tmp_path, monkeypatch):
    first = nc.run(chain_mapping, steps=20)
    first.save(tmp_path)
    before = _snapshot(tmp_path)
    _full_disk_on_call(monkeypatch, 2)  # spikes.npz written, summary.json fails
    with pytest.raises(OutputFileError):
        nc.run(chain_mapping, steps=5).save(tmp_path, overwrite=True)
    assert _snapshot(tmp_path) == before


def test_a_failed_import_write_keeps_the_previous_network(tmp_path, monkeypatch):
    from neurocomp.ir.write import write_snn

    net = nc.load(CHAIN)  # its text names data/chain_input.npz: two files are written
    written = write_snn(net, tmp_path / "chain.snn")
    assert [p.name for p in written] == ["chain.snn", "chain_input.npz"]
    before = {p: p.read_bytes() for p in written}
    _full_disk_on_call(monkeypatch, 2)
    with pytest.raises(OutputFileError):
        write_snn(net, tmp_path / "chain.snn", overwrite=True, header="another header")
    assert {p: p.read_bytes() for p in written} == before
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["chain.snn", "chain_input.npz", "data"]


# --------------------------------------------------------------------------- the command line


def _run_cli(capsys, *args) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


def test_an_output_under_a_file_is_one_error(tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    code, err = _run_cli(capsys, "compile", str(CHAIN), "--chip", "loihi", "-o",
                         str(tmp_path / "afile" / "x.map.json"))
    assert code == 1 and "Traceback" not in err
    assert f"cannot write into '{tmp_path / 'afile'}': it is a file, not a folder" in err
    code, err = _run_cli(capsys, "run", str(CHAIN), "--chip", "loihi", "--steps", "5", "--out",
                         str(tmp_path / "afile" / "run"))
    assert code == 1 and "it is a file, not a folder" in err


def test_a_folder_given_as_the_mapping_file_is_one_error(tmp_path, capsys):
    (tmp_path / "adir").mkdir()
    code, err = _run_cli(capsys, "compile", str(CHAIN), "--chip", "loihi", "-o", str(tmp_path / "adir"),
                         "--force")
    assert code == 1 and f"cannot write '{tmp_path / 'adir'}': it is a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]  # nothing beside it, no temporary


def _refuses_new_files(folder: Path) -> bool:
    probe = folder / ".neurocomp-probe"
    try:
        probe.open("x").close()
    except PermissionError:
        return True
    except OSError:
        return False
    probe.unlink()
    return False


def test_an_unwritable_folder_is_one_error(tmp_path, capsys):
    # A folder without write permission; root may write into any folder, but not add a
    # file to /sys (sysfs refuses it with EACCES, or it is mounted read-only).
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    if os.geteuid() == 0:
        if not _refuses_new_files(Path("/sys")):
            pytest.skip("root may write everywhere here, /sys included")
        ro = Path("/sys")
    try:
        code, err = _run_cli(capsys, "compile", str(CHAIN), "--chip", "loihi", "-o", str(ro / "x.map.json"))
    finally:
        (tmp_path / "ro").chmod(0o700)
    assert code == 1 and "Permission denied" in err and "choose a folder you may write to" in err, err
    assert "Traceback" not in err


def test_a_file_size_limit_during_compile_force_keeps_the_previous_mapping(tmp_path):
    """The issue's case: ``ulimit -f`` then ``compile ... --force`` truncated the old file."""
    # the suite's own Numba cache (the first, unlimited run fills it): a fresh one would
    # compile the compiler's kernels again, cold, for half a minute
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
           **{k: os.environ[k] for k in ("NUMBA_CACHE_DIR",) if k in os.environ}}
    cmd = [sys.executable, "-m", "neurocomp", "compile", str(CHAIN), "--chip", "loihi", "-o", "m.map.json"]
    subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=300)
    before = {p: p.read_bytes() for p in (tmp_path / "m.map.json", tmp_path / "m.map.npz")}

    def limit():  # 2 kB: less than either file (the .npz is about 5 kB)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))
    proc = subprocess.run(cmd + ["--force"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, preexec_fn=limit)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "File too large" in proc.stderr and "ulimit -f" in proc.stderr
    assert {p: p.read_bytes() for p in before} == before
    assert not list(tmp_path.glob(".*.tmp"))
