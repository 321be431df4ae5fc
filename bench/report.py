#!/usr/bin/env python3
"""Joins one benchmark run into one table, a JSON file and a chart.

Inputs (scripts/bench.sh produces them):
  --figures bench/figures.tsv  the figures, in table order: id, title, unit,
                               better (higher|lower), Python anchor name, target
  --rows FILE                  ROW lines of the C++ programs (bench/rows.hpp):
                               ROW figure side median unit min max n   (side: ours|raw)
  --anchors FILE               ANCHOR lines of bench/py/mp_baselines.py:
                               ANCHOR name median unit min max n
                               (absent: the Python columns say why, --python-note TEXT,
                               e.g. "python3 missing"; default "not run")
  --context FILE               lines "key<TAB>value" about the run (date, machine, ...);
                               /proc/stat's cpu lines before and after give the steal time
  --json FILE, --chart FILE    outputs (the chart needs gnuplot; without it, it says so)

Ratios are oriented so that > 1 always means "ours is better": for a rate
(better = higher) ours / other, for a time (better = lower) other / ours.
A target is written on the plain quotient of the values (never oriented):
  raw<=1.5           ours / raw <= 1.5          (a time at most 1.5 times raw's)
  python>=10         ours / python >= 10        (a rate at least 10 times Python's)
  ours:FIG>=0.25     ours / (ours of FIG) >= 0.25
  <=10               ours <= 10                 (the value itself)
  -                  no target

--self-test joins a synthetic run and checks the ratios, the verdicts and the JSON,
and that py/mp_baselines.py emits every Python counterpart figures.tsv names.
Only the standard library: the benchmark must not need pip.
"""
import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

TARGET = re.compile(r"^(?:(raw|python|ours:[A-Za-z0-9_]+))?(<=|>=)([0-9]*\.?[0-9]+)$")


# --------------------------------------------------------------------------- input

def read_figures(path):
    figures = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 6:
                raise ValueError(f"{path}:{number}: expected 6 tab-separated columns, got {len(cols)}")
            fid, title, unit, better, anchor, target = cols
            if better not in ("higher", "lower"):
                raise ValueError(f"{path}:{number}: 'better' is {better!r}, not higher or lower")
            if target != "-" and not TARGET.match(target):
                raise ValueError(f"{path}:{number}: target {target!r} is not of the form [raw|python|ours:ID](<=|>=)X")
            figures.append({"id": fid, "title": title, "unit": unit, "better": better,
                            "anchor": None if anchor == "-" else anchor, "target": None if target == "-" else target})
    return figures


def stats(median, lo, hi, n):
    return {"median": float(median), "min": float(lo), "max": float(hi), "n": int(n)}


def read_rows(path):
    """{(figure, side): stats}; a later row of the same figure and side wins."""
    rows = {}
    if not path or not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "ROW" and len(cols) == 8:
                _, fid, side, med, _unit, lo, hi, n = cols
                rows[(fid, side)] = stats(med, lo, hi, n)
    return rows


def read_anchors(path):
    anchors = {}
    if not path or not os.path.exists(path):
        return anchors
    with open(path) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "ANCHOR" and len(cols) == 7:
                _, name, med, _unit, lo, hi, n = cols
                anchors[name] = stats(med, lo, hi, n)
    return anchors


def read_context(path):
    context = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("\t")
                if key:
                    context[key] = value
    return context


def steal_percent(before, after):
    """Steal time as a share of busy CPU time between two /proc/stat 'cpu' lines."""
    try:
        a = [int(x) for x in before.split()[1:]]
        b = [int(x) for x in after.split()[1:]]
    except (ValueError, AttributeError):
        return None
    d = [y - x for x, y in zip(a, b)]
    if len(d) < 8:
        return None
    busy = sum(d) - d[3] - d[4]          # all but idle and iowait
    return 100.0 * d[7] / busy if busy > 0 else None


# --------------------------------------------------------------------------- the join

def oriented(better, ours, other):
    """> 1 means ours is better."""
    if not ours or not other or ours["median"] <= 0 or other["median"] <= 0:
        return None
    q = ours["median"] / other["median"]
    return q if better == "higher" else 1.0 / q


def verdict(fig, ours, raw, python, by_id):
    """(target reference value or None, met: True/False/None)."""
    if not fig["target"]:
        return None
    side, op, x = TARGET.match(fig["target"]).groups()
    x = float(x)
    if ours is None:
        return None
    if side is None:
        value = ours["median"]
    else:
        ref = raw if side == "raw" else python if side == "python" else by_id.get(side[5:])
        if not ref or ref["median"] <= 0:
            return None
        value = ours["median"] / ref["median"]
    return value <= x if op == "<=" else value >= x


def join(figures, rows, anchors, python_state):
    """python_state: 'ok', or why the Python side is absent ('python3 missing')."""
    ours_by_id = {f["id"]: rows.get((f["id"], "ours")) for f in figures}
    out = []
    for fig in figures:
        ours, raw = rows.get((fig["id"], "ours")), rows.get((fig["id"], "raw"))
        python, python_note = None, None
        if fig["anchor"] is None:
            python_note = "n/a"
        elif python_state != "ok":
            python_note = python_state
        else:
            python = anchors.get(fig["anchor"])
            python_note = None if python else "not emitted"
        out.append({
            "id": fig["id"], "title": fig["title"], "unit": fig["unit"], "better": fig["better"],
            "ours": ours, "raw": raw, "python": python,
            "python_anchor": fig["anchor"], "python_note": python_note,
            "ratio_vs_raw": oriented(fig["better"], ours, raw),
            "ratio_vs_python": oriented(fig["better"], ours, python),
            "target": fig["target"],
            "met": verdict(fig, ours, raw, python, ours_by_id),
        })
    return out


# --------------------------------------------------------------------------- output

def num(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v / 1e3:.3g}k"
    if a >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def spread(s):
    return f"{num(s['median'])} [{num(s['min'])}..{num(s['max'])}]"


def target_text(t):
    if not t:
        return "-"
    side, op, x = TARGET.match(t).groups()
    if side is None:
        return f"{op}{x}"
    return f"{op}{x}x {side[5:] if side.startswith('ours:') else side}"


def ratio_text(r):
    return "-" if r is None else f"{r:.2f}x" if r < 100 else f"{r:.0f}x"


def table(joined):
    head = ("figure", "unit", "libactorproc median [min..max]", "raw median", "Python median [min..max]",
            "vs raw", "vs Python", "target", "met")
    lines = []
    for j in joined:
        ours = spread(j["ours"]) if j["ours"] else "not run"
        raw = num(j["raw"]["median"]) if j["raw"] else "-"
        python = spread(j["python"]) if j["python"] else j["python_note"]
        met = {True: "yes", False: "NO", None: "-"}[j["met"]] if j["target"] else ""
        lines.append((j["id"], j["unit"], ours, raw, python, ratio_text(j["ratio_vs_raw"]),
                      ratio_text(j["ratio_vs_python"]), target_text(j["target"]), met))
    widths = [max(len(str(r[i])) for r in lines + [head]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i in (0, 1, 7) else '>'}{w}}}" for i, w in enumerate(widths))
    text = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    text += [fmt.format(*r) for r in lines]
    return "\n".join(text)


def write_json(path, joined, context):
    keep = ("id", "title", "unit", "better", "ours", "raw", "python", "ratio_vs_raw", "ratio_vs_python",
            "target", "met", "python_anchor", "python_note")
    doc = {"run": context, "figures": [{k: j[k] for k in keep} for j in joined]}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def oriented_target(j):
    """A Python target as a point on the chart's oriented axis, or None."""
    if not j["target"]:
        return None
    side, _op, x = TARGET.match(j["target"]).groups()
    if side != "python":
        return None
    return float(x) if j["better"] == "higher" else 1.0 / float(x)


def write_chart(path, joined, title):
    """A log-scale bar chart of the ratios vs Python, with target markers. Returns
    None when written, else why not."""
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        return "gnuplot missing (scripts/install-deps.sh bench installs gnuplot-nox): no chart"
    bars = [j for j in joined if j["ratio_vs_python"] is not None]
    if not bars:
        return "no figure has both sides: no chart"
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "ratios.dat")
        with open(data, "w") as f:
            for i, j in enumerate(bars):
                t = oriented_target(j)
                f.write(f"{i}\t{j['id']}\t{j['ratio_vs_python']:.6g}\t{'NaN' if t is None else f'{t:.6g}'}\n")
        script = f"""
set terminal pngcairo size 1200,640 noenhanced font ",10"
set output "{path}"
set title "{title}"
set logscale y 10
set ylabel "libactorproc vs Python multiprocessing (>1: ours is better)"
set style fill solid 0.7 border -1
set boxwidth 0.6
set xtics rotate by -35 left
set grid ytics
set key top left
set xrange [-0.7:{len(bars) - 0.3}]
set yrange [*:*]
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 lc rgb "#444444"
plot "{data}" using 1:3:xtic(2) with boxes lc rgb "#4477aa" title "ours / Python (median)", \\
     "" using 1:4 with points pt 9 ps 2 lc rgb "#cc3311" title "target"
"""
        res = subprocess.run([gnuplot], input=script, text=True, capture_output=True)
        if res.returncode != 0 and "pngcairo" in res.stderr:
            res = subprocess.run([gnuplot], input=script.replace("pngcairo", "png"), text=True, capture_output=True)
        if res.returncode != 0:
            return "gnuplot failed: " + res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "gnuplot failed"
    return None


def context_lines(context):
    out = []
    for key in ("date", "mode", "machine", "cpu", "kernel", "python", "placement", "load_before", "load_after",
                "wall"):
        if key in context:
            out.append(f"{key.replace('_', ' ')}: {context[key]}")
    steal = steal_percent(context.get("stat_before"), context.get("stat_after"))
    if steal is not None:
        out.append(f"steal: {steal:.1f}% of busy CPU time during the run (time the host gave our vCPUs to others)")
    return out


def report(args):
    figures = read_figures(args.figures)
    context = read_context(args.context)
    if args.anchors and os.path.exists(args.anchors) and not args.python_note:
        python_state = "ok"
    else:
        python_state = args.python_note or "not run"
    joined = join(figures, read_rows(args.rows), read_anchors(args.anchors), python_state)
    for line in context_lines(context):
        print(line)
    print("ratios: > 1 means libactorproc is better (rates: ours / other; times: other / ours);"
          " a target is on ours / reference as measured (raw<=1.5: at most 1.5 times raw's time)")
    print()
    print(table(joined))
    steal = steal_percent(context.get("stat_before"), context.get("stat_after"))
    if steal is not None:
        context["steal_percent"] = round(steal, 2)
    if args.json:
        write_json(args.json, joined, context)
        print(f"\njson: {args.json}")
    if args.chart:
        why = write_chart(args.chart, joined, f"libactorproc / Python multiprocessing, {context.get('date', '')}")
        print(f"chart: {args.chart}" if why is None else f"chart: {why}")
    return 0


# --------------------------------------------------------------------------- self-test

def self_test():
    figures = ("a_rate\trate figure\tmsg/s\thigher\tA2 x\tpython>=10\n"
               "b_time\ttime figure\tus/rt\tlower\tA1 y\traw<=1.5\n"
               "c_share\tshare figure\tmsg/s\thigher\t-\tours:a_rate>=0.25\n"
               "d_abs\tabsolute figure\tKiB\tlower\t-\t<=10\n"
               "e_none\tnot run\tms\tlower\tA9 z\t-\n")
    rows = ("ROW\ta_rate\tours\t2000\tmsg/s\t1000\t3000\t5\n"
            "ROW\tb_time\tours\t30\tus/rt\t25\t40\t5\n"
            "ROW\tb_time\traw\t20\tus/rt\t18\t22\t5\n"
            "ROW\tc_share\tours\t400\tmsg/s\t300\t500\t3\n"
            "ROW\td_abs\tours\t12\tKiB\t11\t13\t1\n")
    anchors = ("ANCHOR\tA2 x\t100\tmsg/s\t90\t110\t5\n"
               "ANCHOR\tA1 y\t60\tus/rt\t50\t70\t5\n")
    failures = []

    def check(what, got, want):
        ok = (got is None and want is None) or (
            got is not None and want is not None and (got == want if isinstance(want, (bool, str)) else
                                                      math.isclose(got, want, rel_tol=1e-9)))
        if not ok:
            failures.append(f"{what}: got {got!r}, want {want!r}")

    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, text in (("figures", figures), ("rows", rows), ("anchors", anchors)):
            paths[name] = os.path.join(tmp, name)
            with open(paths[name], "w") as f:
                f.write(text)
        out_json = os.path.join(tmp, "out.json")
        args = argparse.Namespace(figures=paths["figures"], rows=paths["rows"], anchors=paths["anchors"],
                                  context=None, json=out_json, chart=None, python_note=None)
        with open(os.devnull, "w") as null:
            stdout, sys.stdout = sys.stdout, null
            try:
                report(args)
            finally:
                sys.stdout = stdout
        with open(out_json) as f:
            doc = json.load(f)
        by = {fig["id"]: fig for fig in doc["figures"]}
        if [fig["id"] for fig in doc["figures"]] != ["a_rate", "b_time", "c_share", "d_abs", "e_none"]:
            failures.append("the JSON does not keep the figures' order")
        check("a_rate vs python", by["a_rate"]["ratio_vs_python"], 20.0)
        check("a_rate met", by["a_rate"]["met"], True)
        check("a_rate raw", by["a_rate"]["raw"], None)
        check("a_rate python median", by["a_rate"]["python"]["median"], 100.0)
        check("b_time vs raw (a time: raw / ours)", by["b_time"]["ratio_vs_raw"], 20.0 / 30.0)
        check("b_time vs python", by["b_time"]["ratio_vs_python"], 2.0)
        check("b_time met (30/20 = 1.5 <= 1.5)", by["b_time"]["met"], True)
        check("c_share met (400/2000 = 0.2 < 0.25)", by["c_share"]["met"], False)
        check("c_share python note", by["c_share"]["python_note"], "n/a")
        check("d_abs met (12 > 10)", by["d_abs"]["met"], False)
        check("e_none ours", by["e_none"]["ours"], None)
        check("e_none python note", by["e_none"]["python_note"], "not emitted")
        for key in ("id", "title", "unit", "better", "ours", "raw", "python", "ratio_vs_raw", "ratio_vs_python",
                    "target", "met"):
            if key not in by["a_rate"]:
                failures.append(f"the JSON lacks {key}")
        check("ours n", by["a_rate"]["ours"]["n"], 5)

        # No python3: the Python columns say so, the rest is still joined.
        joined = join(read_figures(paths["figures"]), read_rows(paths["rows"]), {}, "python3 missing")
        check("python3 missing note", joined[0]["python_note"], "python3 missing")
        check("python3 missing ratio", joined[0]["ratio_vs_python"], None)
        check("python3 missing, raw ratio kept", joined[1]["ratio_vs_raw"], 20.0 / 30.0)
        if "python3 missing" not in table(joined):
            failures.append("the table does not say python3 is missing")

        check("steal", steal_percent("cpu 100 0 100 1000 0 0 0 50 0 0", "cpu 200 0 200 2000 0 0 0 100 0 0"),
              100.0 * 50 / 250)
        for bad in ("python=10", "raw<1.5", "ours:>=1"):
            if TARGET.match(bad):
                failures.append(f"target {bad!r} is accepted")
    # The real list: every figure's Python counterpart is emitted by the real script.
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "py", "mp_baselines.py")) as f:
        script = f.read()
    for fig in read_figures(os.path.join(here, "figures.tsv")):
        if fig["anchor"] and f'emit("{fig["anchor"]}"' not in script:
            failures.append(f"figures.tsv: {fig['id']}'s {fig['anchor']!r} is not emitted by py/mp_baselines.py")
    for f in failures:
        print("self-test FAILED:", f, file=sys.stderr)
    if not failures:
        print("report.py self-test: ok")
    return 1 if failures else 0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--figures", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures.tsv"))
    p.add_argument("--rows")
    p.add_argument("--anchors")
    p.add_argument("--context")
    p.add_argument("--json")
    p.add_argument("--chart")
    p.add_argument("--python-note", help="why the Python side is absent (its columns say it)")
    p.add_argument("--self-test", action="store_true")
    args = p.parse_args(argv)
    if args.self_test:
        return self_test()
    try:
        return report(args)
    except (OSError, ValueError) as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
