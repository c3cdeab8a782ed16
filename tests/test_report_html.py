"""The self-contained HTML page (neurocomp.report.html).

The page is parsed with html.parser: every <img> is a data: URI that decodes as the PNG
it was given, and nothing in it points anywhere (no http(s)://, no //, no script, no
link, no url()). Where Debian's chromium is installed, a headless browser with its
network cut off opens the page and reports that every image decoded, then takes a
screenshot.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.image import imread  # noqa: E402

from neurocomp.chip.load import load_chip  # noqa: E402
from neurocomp.diagnostics import UsageError  # noqa: E402
from neurocomp.report.html import html  # noqa: E402
from neurocomp.report.report import si  # noqa: E402

HERE = Path(__file__).parent
TINY = str(HERE / "data" / "tiny.toml")
CHROMIUM = Path("/usr/bin/chromium")

SPREAD = """network spread
dt = 1 ms
input stim[8] : rate(value = 0.5, max_rate = 500 Hz, seed = 3)
population a[24] : LIF(beta = 0.9, threshold = 1.0, reset = zero)
population b[20] : LIF(beta = 0.9, threshold = 1.0, reset = zero)
connect stim -> a : all_to_all(weight = 0.4)
connect a -> b : random(p = 0.5, weight = 0.3, seed = 1)
connect b -> a : random(p = 0.2, weight = -0.2, seed = 2)
probe b : spikes
"""


class Page(HTMLParser):
    """Every start tag with its attributes, the text, and the tables as rows of cells."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._caption: str | None = None
        self._in_caption = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "caption":
            self._in_caption, self._caption = True, ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
            self.tables[self._caption or ""] = []
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._caption or ""].append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._in_caption:
            self._caption = (self._caption or "") + data
        elif self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The spread network on two tiny chips: its report, validation, pictures and page."""
    from neurocomp.emulator.run import emulate
    from neurocomp.ir.build import load
    from neurocomp.report.cost import cost
    from neurocomp.report.plots import plots
    from neurocomp.report.report import report
    from neurocomp.workflows.validate import compile_for, validate

    path = tmp_path_factory.mktemp("spread") / "spread.snn"
    path.write_text(SPREAD)
    chip = load_chip(TINY, chips=2)
    network = load(path)
    mapping = compile_for(network, chip)
    result = emulate(mapping, 30)
    priced = cost(result.counters, chip, mapping)
    rep = report(result, priced, chip, mapping, wall_s={"emulate": 0.5})
    val = validate(network, chip, 30, mapping=mapping)
    pictures = plots(result=result, mapping=mapping, cost=priced, validation_counts=val.spike_counts,
                     chip_name=chip.name)
    page = html(rep.to_dict(), pictures, validation=val.to_dict(), mapping=mapping)
    return {"mapping": mapping, "result": result, "cost": priced, "report": rep, "validation": val,
            "pictures": pictures, "page": page}


def test_every_picture_is_inline_and_decodes(run) -> None:
    page = Page(run["page"])
    imgs = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(imgs) == len(run["pictures"]) == 6
    for attrs, (name, data) in zip(imgs, run["pictures"].items()):
        src = attrs["src"] or ""
        assert src.startswith("data:image/png;base64,"), name
        decoded = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert decoded == data, name
        img = imread(io.BytesIO(decoded), format="png")
        assert img.shape[0] > 100 and img.shape[1] > 100
        assert attrs["alt"]


def test_nothing_in_the_page_points_anywhere(run) -> None:
    text = run["page"]
    page = Page(text)
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "link", "iframe", "object", "embed", "base", "a", "source", "video", "audio"}
    for tag, attrs in page.tags:
        assert "href" not in attrs and "srcset" not in attrs, tag
        for key, value in attrs.items():
            if tag == "img" and key == "src":
                continue  # checked above: data: URIs
            assert "//" not in (value or "") and "url(" not in (value or ""), (tag, key, value)
    without_data = re.sub(r'src="data:image/png;base64,[A-Za-z0-9+/=]*"', 'src=""', text)
    assert "http://" not in without_data and "https://" not in without_data
    assert "//" not in without_data
    assert "url(" not in without_data and "@import" not in without_data and "@font-face" not in without_data
    assert text.startswith("<!DOCTYPE html>\n") and text.endswith("</html>\n")


def test_the_tables_say_what_the_report_says(run) -> None:
    page = Page(run["page"])
    result, priced, val = run["result"], run["cost"], run["validation"]
    spikes = page.tables["spikes"]
    assert spikes[0] == ["population", "kind", "neurons", "spikes", "mean rate"]
    # mean rate = spikes / (neurons x 30 steps x 1 ms)
    assert spikes[1:] == [[name, "input" if ev.is_input else "neurons", f"{ev.n:,}", f"{ev.count:,}",
                           f"{ev.count / (ev.n * 0.030):.2f} Hz"] for name, ev in result.spikes.items()]
    energy = page.tables["energy"]
    assert energy[-1][:2] == ["total", si(priced.energy_j, "J")]
    assert [row[0] for row in energy[1:-1]] == ["synaptic ops", "neuron updates", "spike routing", "static"]
    by_pop = page.tables["by population"]
    assert [row[0] for row in by_pop[1:]] == list(priced.energy_by_population_pj) == ["a", "b"]
    cores = page.tables["cores, busiest first"]
    busy = sorted(zip(priced.busy_by_core_ns.tolist(), priced.core_ids.tolist()), key=lambda x: (-x[0], x[1]))
    assert [int(row[0]) for row in cores[1:]] == [c for _, c in busy]
    fullest = page.tables["fullest core per resource"]
    assert [row[0] for row in fullest[1:]] == list(load_chip(TINY).limits())
    agreement = page.tables["spikes per population"]
    assert [row[:4] for row in agreement[1:]] == [[p.name, f"{p.size:,}", f"{p.spikes_ref:,}", f"{p.spikes_chip:,}"]
                                                  for p in val.populations]
    assert "wall: emulate 0.5 s" in "".join(page.text)


def test_the_page_shows_traces_maps_the_full_raster_and_the_confusion_matrix() -> None:
    from neurocomp.ir.result import RunResult, SpikeEvents
    from neurocomp.report.plots import plots

    rng = np.random.default_rng(1)
    t = rng.integers(0, 40, 500)
    i = rng.integers(0, 400, 500)
    order = np.argsort(t, kind="stable")
    res = RunResult(network="m", steps=40, dt_ms=1.0,
                    spikes={"cam": SpikeEvents(times=t[order], indices=i[order], n=400),
                            "out": SpikeEvents(times=np.array([1, 2]), indices=np.array([0, 1]), n=2)},
                    traces={"out": {"voltage": rng.random((40, 2))}})
    labels = np.array([0, 1, 1])
    counts = {"out": (np.array([[3, 0], [0, 2], [1, 0]]), np.array([[3, 0], [0, 2], [0, 1]]))}
    pictures = plots(result=res, shapes={"cam": (1, 20, 20), "out": (2,)}, validation_counts=counts,
                     classifier=("out", labels), chip_name="tiny")
    assert list(pictures) == ["raster.png", "raster_full.png", "rates.png", "traces.png", "maps.png",
                              "validation.png", "confusion.png"]
    rep = {"network": "m", "chip": "tiny", "profile": "p", "steps": 40, "samples": 1, "dt_ms": 1.0,
           "populations": {}, "cost": {"energy_j": {"total": 0.0, "by_kind": {}}, "latency_s": {}, "cores": []}}
    text = html(rep, pictures)
    page = Page(text)
    figures = [attrs["id"] for tag, attrs in page.tags if tag == "figure"]
    assert figures == [name.removesuffix(".png") for name in pictures]
    imgs = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    assert [base64.b64decode(src.split(",", 1)[1]) for src in imgs] == list(pictures.values())
    # the full raster sits, alone, in a box that scrolls (no script): it is shown pixel for pixel
    assert text.count('<div class="scroll"><img') == 1
    assert re.search(r'<figure id="raster_full"><div class="scroll"><img src="data:image/png;base64,', text)
    assert "div.scroll img { max-width: none;" in text and "<script" not in text
    for name in ("traces.png", "maps.png", "confusion.png", "raster_full.png"):
        assert f"<b>{name}</b>" in text


def test_the_comparison_page_has_the_table_and_the_chart() -> None:
    from neurocomp.report.compare import ChipRow, Comparison
    from neurocomp.report.html import comparison_html
    from neurocomp.report.plots import comparison, png

    rows = (ChipRow(label="<b>", chip="x", profile="p", n_chips=1, status="does not fit", reason="too big"),)
    cmp = Comparison(network="n", steps=5, runs=1, dt_ms=1.0, spikes_ref={"h": 3}, rows=rows)
    chart = png(comparison(cmp))
    text = comparison_html(cmp, {"comparison.png": chart})
    page = Page(text)
    table = page.tables["the chips, in the order given"]
    assert table[0][:3] == ["chip", "chips", "cores"]
    assert table[1][0] == "<b>" and table[1][1].startswith("does not fit")
    assert "&lt;b&gt;" in text and "<b><" not in text.replace("<b>comparison.png</b>", "")
    (src,) = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    assert base64.b64decode(src.split(",", 1)[1]) == chart
    assert "http" not in text and "//" not in re.sub(r'src="data:[^"]*"', "", text)


def test_user_text_is_escaped() -> None:
    rep = {"network": "n<script>", "chip": "c", "profile": "p", "steps": 1, "samples": 1, "dt_ms": 1.0,
           "populations": {'<img src="x">': {"size": 1, "input": False, "spikes": 0}},
           "cost": {"energy_j": {"total": 0.0, "by_kind": {}}, "latency_s": {}, "cores": []}}
    text = html(rep)
    page = Page(text)
    assert [tag for tag, _ in page.tags if tag in ("img", "script")] == []
    assert page.tables["spikes"][1][0] == '<img src="x">'
    assert "<title>neurocomp run: &#x27;n&lt;script&gt;&#x27; on c</title>" in text


def test_refusals() -> None:
    with pytest.raises(UsageError, match="a page needs a run's report or a validation to show"):
        html()
    with pytest.raises(UsageError, match="picture 'x.png' is not a PNG image"):
        html({"network": "n"}, {"x.png": b"GIF89a"})


def test_a_validation_alone_makes_a_page(run) -> None:
    text = html(None, {}, validation=run["validation"].to_dict())
    page = Page(text)
    assert "spikes per population" in page.tables and "spikes" not in page.tables
    assert "<title>neurocomp validation: &#x27;spread&#x27; on tiny</title>" in text


# --------------------------------------------------------------------------- a real browser

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run",
          "--proxy-server=127.0.0.1:9"]  # any fetch from the network fails

# Appended to a copy of the page for the test only (the page itself has no script):
# after load, write each image's decoded size and the count of fetched resources into
# the DOM, for --dump-dom to print.
_PROBE = """<script>window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('img').forEach(function (img) {
    out.push((img.complete ? 'ok' : 'pending') + ':' + img.naturalWidth + 'x' + img.naturalHeight);
  });
  out.push('resources:' + performance.getEntriesByType('resource').length);
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = out.join(' ');
  document.body.appendChild(pre);
});</script>"""


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    return subprocess.run([str(CHROMIUM), *_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium)")
def test_a_browser_offline_shows_every_picture(run, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(run["page"], encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(run["page"].replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    done = _chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="probe">([^<]*)</pre>', done.stdout)
    assert found, done.stdout[-2000:]
    items = found.group(1).split()
    want = []
    for data in run["pictures"].values():
        img = imread(io.BytesIO(data), format="png")
        want.append(f"ok:{img.shape[1]}x{img.shape[0]}")
    assert items == want + ["resources:0"]

    shot = tmp_path / "shot.png"
    done = _chromium(tmp_path, "--hide-scrollbars", "--window-size=1100,2400", f"--screenshot={shot}",
                     page.as_uri())
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    img = imread(shot)
    assert img.shape[:2] == (2400, 1100)
    ink = np.any(img[..., :3] < 0.9, axis=-1)
    assert ink.mean() > 0.03  # text, tables and pictures, not an empty or error page


def test_run_html_page_is_the_one_report_draws_again(tmp_path: Path, capsys) -> None:
    from neurocomp.cli import main

    out = tmp_path / "run"
    chain = str(HERE.parent / "examples" / "chain.snn")
    assert main(["run", chain, "--chip", TINY, "--steps", "20", "--out", str(out), "--html"]) == 0
    written = (out / "report.html").read_text(encoding="utf-8")
    assert not list(out.glob("*.png"))  # --html alone: pictures inline only
    assert Page(written).tables["spikes"][1][:4] == ["stim", "input", "1", "8"]
    (out / "report.html").unlink()
    assert main(["report", str(out), "--html"]) == 0
    assert (out / "report.html").read_text(encoding="utf-8") == written
    report = json.loads((out / "report.json").read_text())
    assert report["populations"]["c"]["spikes"] == 1
    capsys.readouterr()
