"""Work too big for the machine is refused, with its size, before it is allocated.

The memory limit is pinned with NEUROCOMP_MAX_MEMORY=1G (10^9 bytes, shown as 954 MiB),
so every refusal below is independent of the machine running the tests; each expected
size is counted by hand from what the stage must hold at least (see each test).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.cli import main
from neurocomp.cli.common import COMMANDS
from neurocomp.resources import bytes_text, memory_limit, parse_bytes

ROOT = Path(__file__).resolve().parent.parent
CHAIN = ROOT / "examples" / "chain.snn"
TINY = ROOT / "tests" / "data" / "tiny.toml"
LIMIT = "more than NEUROCOMP_MAX_MEMORY=1G (954 MiB)"


@pytest.fixture(autouse=True)
def one_gigabyte(monkeypatch):
    monkeypatch.setenv("NEUROCOMP_MAX_MEMORY", "1G")


def _cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def _net(tmp_path, text: str) -> Path:
    path = tmp_path / "net.snn"
    path.write_text("network big\ndt = 1 ms\n" + text)
    return path


def test_sizes_and_limits_read_as_written():
    assert parse_bytes("1G") == 10**9 and parse_bytes("1.5GiB") == 1_610_612_736 and parse_bytes("512") == 512
    with pytest.raises(ValueError):
        parse_bytes("lots")
    assert bytes_text(480_001_600_008) == "447 GiB" and bytes_text(10**9) == "954 MiB"
    assert memory_limit() == (10**9, "NEUROCOMP_MAX_MEMORY=1G")


def test_a_huge_all_to_all_is_refused_before_lowering(tmp_path, capsys):
    # 200,000 x 200,000 = 4e10 synapses x (4 B target + 8 B weight) + 200,001 x 8 B indptr
    path = _net(tmp_path, "input x[200000] : rate(value = 0.5, max_rate = 10 Hz)\n"
                          "population a[200000] : LIF(beta = 0.5, threshold = 1.0)\n"
                          "connect x -> a : all_to_all(weight = 0.1)\n")
    code, err = _cli(capsys, "check", path)
    assert code == 1 and "Traceback" not in err
    assert f"net.snn:5:1: error: projection 'x->a' (40,000,000,000 synapses) needs at least 447 GiB, {LIMIT}" in err


@pytest.mark.parametrize("shape, size", [("1000000000000000000000000000000", "1e+30"),
                                         ("100000000000, 100000000000", "1e+22")])
def test_a_population_beyond_int64_is_refused_not_wrapped(tmp_path, capsys, shape, size):
    path = _net(tmp_path, f"population a[{shape}] : LIF(beta = 0.5, threshold = 1.0)\n")
    code, err = _cli(capsys, "check", path)
    assert code == 1 and "Traceback" not in err
    assert f"net.snn:3:14: error: a population of {size} neurons: neurocomp counts neurons in 64-bit " in err


def test_a_billion_neurons_on_loihi_is_a_capacity_error_before_lowering(tmp_path, capsys):
    # loihi: 128 cores x 1,024 compartments = 131,072; 10^9 / 1,024 = 976,563 cores = 7,630 chips
    path = _net(tmp_path, "input x[1000000000] : rate(value = 0.5, max_rate = 10 Hz)\n"
                          "population a[1000000000] : LIF(beta = 0.5, threshold = 1.0)\n"
                          "connect x -> a : one_to_one(weight = 0.1)\n")
    code, err = _cli(capsys, "compile", path, "--chip", "loihi", "-o", tmp_path / "m.map.json")
    assert code == 1
    assert ("network 'big' has 1,000,000,000 neurons, the system holds 131,072 (1 chip(s) of loihi x 128 cores "
            "x 1,024 neurons)") in err and "use --chips 7630" in err


@pytest.mark.parametrize("steps, message", [
    ("1000000000000000000000000000000", "steps = 1e+30 is more than an int64 step counter holds (2^62)"),
    # 10^9 steps x (11 counters x 1 core + 2 + 3 probed voltages) x 8 B = 1.28e11 B = 119 GiB
    ("1000000000", f"emulating 1,000,000,000 steps of 'chain' needs at least 119 GiB, {LIMIT}"),
])
def test_too_many_steps_are_refused_before_the_buffers(capsys, steps, message):
    from neurocomp.ir.result import Counters

    assert len(Counters.FIELDS) == 11  # the count the hand computation above assumes
    code, err = _cli(capsys, "run", CHAIN, "--chip", "loihi", "--steps", steps)
    assert code == 1 and message in err


def test_the_float_reference_is_guarded_too(capsys):
    # 10^9 steps x (2 + 3 probed voltages) x 8 B = 4e10 B = 37.3 GiB
    code, err = _cli(capsys, "simulate", CHAIN, "--steps", "1000000000")
    assert code == 1 and f"simulating 1,000,000,000 steps of 'chain' needs at least 37.3 GiB, {LIMIT}" in err


def test_a_batch_larger_than_the_samples_is_refused_first(tmp_path, capsys):
    np.savez(tmp_path / "two.npz", stim=np.zeros((2, 5, 1)))
    code, err = _cli(capsys, "run", CHAIN, "--chip", "loihi", "--steps", "5", "--batch", "1000000000",
                     "--inputs", tmp_path / "two.npz")
    assert code == 1 and "input 'stim' has 2 samples; --batch asks for 1,000,000,000" in err


def _huge_npy() -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    return buf.getvalue() + bytes(64)


def test_an_npy_header_declaring_a_huge_shape_is_refused_before_numpy_allocates(tmp_path, capsys):
    (tmp_path / "huge.npy").write_bytes(_huge_npy())
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as z:
        z.writestr("stim.npy", _huge_npy())
    path = _net(tmp_path, 'input x[4] : rate(value = "huge.npy", max_rate = 10 Hz)\n')
    code, err = _cli(capsys, "check", path)
    # 10^12 float64 = 8e12 B = 7.28 TiB declared; 64 B after the header
    assert code == 1 and ("'huge.npy': the array declares shape [1000000, 1000000] of float64 in its header "
                          "(7.28 TiB), but the file holds only 64 B of data") in err
    code, err = _cli(capsys, "run", CHAIN, "--chip", "loihi", "--steps", "5", "--inputs", tmp_path / "huge.npz")
    assert code == 1 and "array 'stim' declares shape [1000000, 1000000]" in err


def test_an_honest_npy_larger_than_the_limit_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NEUROCOMP_MAX_MEMORY", "1000")
    np.save(tmp_path / "w.npy", np.zeros(200, dtype=np.float64))  # 1,600 B of data
    path = _net(tmp_path, 'input x[200] : rate(value = "w.npy", max_rate = 10 Hz)\n')
    code, err = _cli(capsys, "check", path)
    assert code == 1 and "the array (shape [200] of float64) needs at least 1.56 KiB" in err


def test_a_system_of_ten_billion_chips_is_refused_at_load(tmp_path, capsys):
    nomax = tmp_path / "nomax.toml"
    nomax.write_text("\n".join(l for l in TINY.read_text().splitlines() if not l.startswith("max_chips")))
    system = tmp_path / "sys.toml"
    system.write_text(f'chip = "{nomax}"\nchips_x = 100000\nchips_y = 100000\n')
    code, err = _cli(capsys, "compile", CHAIN, "--chip", system, "-o", tmp_path / "m.map.json")
    # tiny has 4 cores per chip: 10^10 x 4 = 4e10 core ids, beyond int32
    assert code == 1 and ("10,000,000,000 chips of 4 cores are 40,000,000,000 cores; a Mapping numbers cores "
                          "with 32-bit integers") in err


def test_a_system_file_naming_itself_is_refused(tmp_path, capsys):
    (tmp_path / "self.toml").write_text('chip = "self.toml"\nchips_x = 2\nchips_y = 1\n')
    (tmp_path / "a.toml").write_text('chip = "b.toml"\nchips_x = 2\nchips_y = 1\n')
    (tmp_path / "b.toml").write_text('chip = "a.toml"\nchips_x = 2\nchips_y = 1\n')
    for name in ("self.toml", "a.toml"):
        code, err = _cli(capsys, "compile", CHAIN, "--chip", tmp_path / name, "-o", tmp_path / "m.map.json")
        assert code == 1 and "leads back to this system file (a loop)" in err and "Traceback" not in err


def test_a_core_table_beyond_memory_is_refused(monkeypatch):
    monkeypatch.setenv("NEUROCOMP_MAX_MEMORY", "10K")
    chip = nc.load_chip("loihi", chips=2)  # 256 cores x 4 int64 = 8,192 B fits 10 kB
    assert chip.coordinates().shape == (256, 4)
    big = nc.load_chip("loihi", chips=4)  # 16,384 B does not
    with pytest.raises(nc.NeurocompError, match=r"the core table of 4 chips of loihi \(512 cores\) needs at "
                                                r"least 16 KiB, more than NEUROCOMP_MAX_MEMORY=10K"):
        big.coordinates()


def test_max_memory_caps_one_command_and_ends_with_it(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NEUROCOMP_MAX_MEMORY")
    # 10^6 steps x (11 counters x 1 core + 2 + 3 probed voltages) x 8 B = 1.28e8 B = 122 MiB
    code, err = _cli(capsys, "run", CHAIN, "--chip", "loihi", "--steps", "1000000", "--max-memory", "100M")
    assert code == 1 and ("emulating 1,000,000 steps of 'chain' needs at least 122 MiB, more than "
                          "--max-memory 100M (95.4 MiB)") in err
    assert memory_limit()[1] != "--max-memory 100M"  # the cap ended with the command
    code, err = _cli(capsys, "run", CHAIN, "--chip", "loihi", "--steps", "5", "--max-memory", "100M")
    assert code == 0, err
    # 10^6 steps x (2 + 3 probed voltages) x 8 B = 4e7 B = 38.1 MiB
    code, err = _cli(capsys, "simulate", CHAIN, "--steps", "1000000", "--max-memory", "30MiB")
    assert code == 1 and "needs at least 38.1 MiB, more than --max-memory 30MiB (30 MiB)" in err


def test_max_memory_takes_the_smaller_of_it_and_the_environment(capsys):
    # NEUROCOMP_MAX_MEMORY=1G is set: a larger --max-memory does not raise the limit
    code, err = _cli(capsys, "simulate", CHAIN, "--steps", "1000000000", "--max-memory", "1T")
    assert code == 1 and f"needs at least 37.3 GiB, {LIMIT}" in err


@pytest.mark.parametrize("command", list(COMMANDS) + ["chips show", "chips list"])
def test_max_memory_is_an_option_of_every_command(capsys, command):
    words = command.split()
    with pytest.raises(SystemExit) as stop:
        main([*words, "--help"])
    assert stop.value.code == 0 and "--max-memory SIZE" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        main([*words, *([] if words[0] == "chips" else [str(CHAIN)]), "--max-memory", "lots"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "argument --max-memory: not a size: 'lots' (write e.g. 4G, 512MiB or 1000000)" in err


def test_memory_cap_in_the_api_is_scoped_and_nests():
    from neurocomp.resources import current_cap, memory_cap

    with memory_cap("10K"):
        assert memory_limit() == (10_000, "max_memory=10K")
        with memory_cap(50_000, "outer wins"):  # a cap only lowers the limit
            assert memory_limit() == (10_000, "max_memory=10K")
        with memory_cap(2_000, "inner"):
            assert memory_limit() == (2_000, "inner")
        with pytest.raises(nc.NeurocompError, match=r"needs at least 16 KiB, more than max_memory=10K"):
            nc.load_chip("loihi", chips=4).coordinates()  # 512 cores x 4 int64 = 16,384 B
    assert current_cap() is None and memory_limit() == (10**9, "NEUROCOMP_MAX_MEMORY=1G")
    with pytest.raises(nc.NeurocompError, match="max_memory: not a size: 'lots'"):
        with memory_cap("lots"):
            pass


def _limits_seen(shared, chunk):
    return [memory_limit() for _ in chunk]


def test_memory_cap_reaches_local_workers():
    from neurocomp.resources import memory_cap
    from neurocomp.workflows.parallel import map_chunks

    with memory_cap("10K"):
        seen = map_chunks(_limits_seen, None, range(4), jobs=2)
    assert seen == [(10_000, "max_memory=10K")] * 4
    assert map_chunks(_limits_seen, None, range(2), jobs=2) == [(10**9, "NEUROCOMP_MAX_MEMORY=1G")] * 2


def test_quantization_partition_and_routing_tables_are_guarded(tmp_path):
    """Each stage refuses its own tables under a cap the earlier stages fit: 100 inputs
    all-to-all onto 50 neurons, 5,000 synapses (weight 0.1: none quantizes to 0), on one
    loihi core."""
    from neurocomp.compiler.lower import lower
    from neurocomp.compiler.partition import partition
    from neurocomp.compiler.place import place
    from neurocomp.compiler.quantize import quantize
    from neurocomp.compiler.route import route
    from neurocomp.resources import memory_cap

    net = nc.load(_net(tmp_path, "input x[100] : rate(value = 0.5, max_rate = 10 Hz)\n"
                                 "population a[50] : LIF(beta = 0.5, threshold = 1.0)\n"
                                 "connect x -> a : all_to_all(weight = 0.1)\n"))
    chip = nc.load_chip("loihi")
    syn = lower(net)
    # quantize: 5,000 int64 weights + 50 int64 thresholds = 40,400 B = 39.5 KiB
    with memory_cap(40_000), pytest.raises(nc.NeurocompError, match=(
            r"quantizing network 'big' \(5,000 synapses, 50 neurons\) needs at least 39.5 KiB, more than "
            r"max_memory=40000 \(39.1 KiB\)")):
        quantize(net, chip, synapses=syn)
    with memory_cap(40_400):
        qnet = quantize(net, chip, synapses=syn)
    # partition: 150 nodes x 20 B + 100 keys x 4 B + 5,000 synapses x 4 B = 23,400 B = 22.9 KiB
    with memory_cap(23_399), pytest.raises(nc.NeurocompError, match=(
            r"partitioning network 'big' \(150 neurons, 5,000 synapses\) needs at least 22.9 KiB")):
        partition(qnet, chip)
    with memory_cap(23_400):
        part = partition(qnet, chip)
    placement = place(part, chip)
    # route: 5,000 synapses x 10 B + 50 compartments x 24 B + 150 nodes x 32 B + 100 axons x 16 B
    #        = 50,000 + 1,200 + 4,800 + 1,600 = 57,600 B = 56.25 KiB
    with memory_cap(57_599), pytest.raises(nc.NeurocompError, match=(
            r"the mapping of network 'big' \(5,000 synapses, 50 compartments\) needs at least 56.2 KiB")):
        route(placement, qnet, chip)
    with memory_cap(57_600):
        mapping = route(placement, qnet, chip)
    assert mapping.syn_target.size == 5_000 and mapping.axon_core.size == 100


def test_placement_is_guarded_on_the_cores_it_searches(tmp_path):
    """Placement's tables grow with the physical cores it searches (the window of twice
    the chips the network fills: 2 chips x 128 cores of a 64-chip Loihi system), not with
    the chips declared: 256 cores x 57 B + 1 logical core x 32 B + no core pairs
    (one core exchanges spikes with no other) = 14,624 B = 14.3 KiB."""
    from neurocomp.compiler.lower import lower
    from neurocomp.compiler.partition import partition
    from neurocomp.compiler.place import place
    from neurocomp.compiler.quantize import quantize
    from neurocomp.resources import memory_cap

    net = nc.load(_net(tmp_path, "input x[10] : rate(value = 0.5, max_rate = 10 Hz)\n"
                                 "population a[5] : LIF(beta = 0.5, threshold = 1.0)\n"
                                 "connect x -> a : all_to_all(weight = 0.1)\n"))
    chip = nc.load_chip("loihi", chips=64)
    part = partition(quantize(net, chip, synapses=lower(net)), chip)
    assert part.n_cores == 1 and np.asarray(part.traffic_src).size == 0
    with memory_cap(14_623), pytest.raises(nc.NeurocompError, match=(
            r"placing network 'big' \(1 core on 256 physical cores, 0 core pairs that exchange spikes\) "
            r"needs at least 14.3 KiB, more than max_memory=14623")):
        place(part, chip)
    with memory_cap(14_624):
        assert place(part, chip).core_id.tolist() == [0]


def test_max_memory_reaches_the_commands_that_only_read(tmp_path, capsys):
    # print reads the network's weight file: a header declaring 10^6 float64 (8 MB) is
    # refused under a 1 MB cap before numpy allocates it; export and chips the same way
    np.save(tmp_path / "w.npy", np.zeros((1000, 1000)))
    net = _net(tmp_path, "input x[1000] : rate(value = 0.5)\npopulation a[1000] : LIF(beta = 0.5, threshold = 1.0)\n"
                         "connect x -> a : dense(weights = \"w.npy\")\n")
    code, err = _cli(capsys, "print", net, "--max-memory", "1M")
    assert code == 1 and "needs at least 7.63 MiB, more than --max-memory 1M (977 KiB)" in err, err
    code, err = _cli(capsys, "print", net)
    assert code == 0, err
    # chips: before or after its action, the option holds (an action's parser leaves it alone)
    from neurocomp.cli import _parser

    for argv in (["chips", "show", "loihi", "--max-memory", "1M"], ["chips", "--max-memory", "1M", "show", "loihi"],
                 ["chips", "--max-memory", "1M"]):
        assert _parser("chips").parse_args(argv).max_memory == (10**6, "--max-memory 1M"), argv
        code, err = _cli(capsys, *argv)
        assert code == 0, err
