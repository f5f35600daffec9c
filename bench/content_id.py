"""`python -m bench.content_id [--quick]`: content identification measured on real music.

Builds an in-memory index (gatekeeper.fingerprint.MemoryIndex) of every reference
track of the music packages (`make music`), makes queries from them with ffmpeg
(excerpts from seeded random positions, every tag stripped, then each transform of
the robustness goal), runs each query as an upload (gatekeeper.audio.sample_windows
over the file, fingerprint, query keys, postings, match) and prints:

- transform x recall (at the matcher's MIN_SCORE), and false matches (a candidate other
  than the true reference scoring >= MIN_SCORE, unless the two references share recorded
  audio at that point: waveform correlation >= SHARED_AUDIO_CORRELATION, listed apart);
- the score distributions of true candidates and of the best non-matching reference;
- bytes and reads per upload for 3/10/60-min 192 kbit/s MP3 (one with a 1 MiB cover
  in its ID3v2 tag), M4A (moov at the end and at the front), Opus, FLAC;
- CPU per upload (decode + fingerprint), distinct query keys per upload, index bytes
  per reference hour, ingestion rate (reference hours per CPU minute).

Generated files are cached under bench/results/content-id-cache/ (gitignored) between
runs. --quick: 8 references, one query per reference and transform, no 60-min file.
Writes bench/results/content-id.json.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gatekeeper import fingerprint as fpr
from gatekeeper.audio import Sampled, decode_whole, sample_windows
from gatekeeper.content_id import MAX_QUERY_KEYS
from gatekeeper.fingerprint import params

from bench.music import reference_tracks, track_name

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = RESULTS / "content-id-cache"
EXCERPT_S = 45.0  # a query upload: 3 x 12 s windows are sampled from it
SEED = 20240212



@dataclass(frozen=True)
class Transform:
    name: str
    goal: float  # recall goal
    filters: str = ""  # ffmpeg -af chain
    codec: tuple[str, ...] = ("-c:a", "flac")
    ext: str = "flac"
    length_s: float = EXCERPT_S
    noise: str | None = None  # anoisesrc color, mixed at 0 dB SNR


LOSSLESS = ("-c:a", "flac")
TRANSFORMS = (
    Transform("mp3 64k", 0.99, codec=("-c:a", "libmp3lame", "-b:a", "64k"), ext="mp3"),
    Transform("aac 64k", 0.99, codec=("-c:a", "aac", "-b:a", "64k"), ext="m4a"),
    Transform("opus 64k", 0.99, codec=("-c:a", "libopus", "-b:a", "64k"), ext="opus"),
    Transform("vorbis 64k", 0.99, codec=("-c:a", "libvorbis", "-b:a", "64k"), ext="ogg"),
    Transform("excerpt 10s", 0.99, codec=("-c:a", "libmp3lame", "-b:a", "128k"), ext="mp3", length_s=10.0),
    Transform("gain +10dB", 0.99, "volume=10dB,alimiter=limit=1:level=false"),
    Transform("gain -10dB", 0.99, "volume=-10dB"),
    Transform("band 300-3400", 0.99, ",".join(["highpass=f=300"] * 4 + ["lowpass=f=3400"] * 4)),
    Transform("white 0dB", 0.99, noise="white"),
    Transform("pink 0dB", 0.99, noise="pink"),
    Transform("speed +3%", 0.90, "aresample=48000,asetrate=49440,aresample=48000"),
    Transform("speed -3%", 0.90, "aresample=48000,asetrate=46560,aresample=48000"),
    Transform("tempo +5%", 0.90, "atempo=1.05"),
    Transform("tempo -5%", 0.90, "atempo=0.95"),
    Transform("pitch +1st", 0.90, "rubberband=pitch=1.0594631"),
    Transform("pitch -1st", 0.90, "rubberband=pitch=0.9438743"),
)


def _run(command: list[str], stdin: bytes | None = None) -> bytes:
    done = subprocess.run(command, input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:6]}...: {done.stderr.decode(errors='replace')[-400:]}")
    return done.stdout


def _pcm48(path: Path, start: float, length: float, filters: str) -> np.ndarray:
    af = ["-af", filters] if filters else []
    raw = _run(["ffmpeg", "-v", "error", "-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(path), *af,
                "-ac", "2", "-ar", "48000", "-f", "f32le", "-"])  # fmt: skip
    return np.frombuffer(raw, np.float32).reshape(-1, 2)


def make_query(source: Path, start: float, transform: Transform, out: Path, seed: int) -> None:
    """Write one query file: excerpt, transform, every tag and chapter stripped, encoded."""
    if out.exists():
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp" + out.suffix)
    strip = ["-map_metadata", "-1", "-map_chapters", "-1", "-vn"]
    if transform.noise is None:
        af = ["-af", transform.filters] if transform.filters else []
        _run(["ffmpeg", "-v", "error", "-y", "-ss", f"{start:.3f}", "-t", f"{transform.length_s:.3f}", "-i", str(source),
              *af, *strip, "-ar", "48000", *transform.codec, str(tmp)])  # fmt: skip
    else:
        signal = _pcm48(source, start, transform.length_s, "")
        noise = np.frombuffer(_run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
            f"anoisesrc=color={transform.noise}:amplitude=0.5:seed={seed}:r=48000:d={transform.length_s + 1}",
            "-ac", "2", "-f", "f32le", "-"]), np.float32).reshape(-1, 2)[: len(signal)]  # fmt: skip
        mixed = signal + noise * np.sqrt(np.mean(signal**2) / max(np.mean(noise**2), 1e-20))  # 0 dB SNR
        mixed /= max(1.0, float(np.abs(mixed).max()))
        _run(["ffmpeg", "-v", "error", "-y", "-f", "f32le", "-ar", "48000", "-ac", "2", "-i", "-", *strip,
              *transform.codec, str(tmp)], stdin=mixed.astype(np.float32).tobytes())  # fmt: skip
    tmp.rename(out)


def duration_of(path: Path) -> float:
    return float(_run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)]))


# ---------------------------------------------------------------- the upload path


@dataclass
class Upload:
    sampled: Sampled
    fp: fpr.Fingerprint
    keys: list[int]
    cpu_s: float  # decode + fingerprint


def fingerprint_upload(path: Path) -> Upload:
    """What the gatekeeper does with an upload, up to the index lookup."""
    started = time.process_time()
    with path.open("rb") as fh:
        sampled = sample_windows(fh)
    fp = fpr.combine(fpr.fingerprint(w.pcm, w.start_s) for w in sampled.windows)
    query = fpr.select(fp, MAX_QUERY_KEYS)  # the gatekeeper's budget (9 BatchGetItem of 100 keys)
    return Upload(sampled, query, fpr.query_keys(query, MAX_QUERY_KEYS), time.process_time() - started)


# ---------------------------------------------------------------- index


@dataclass
class Catalogue:
    index: fpr.MemoryIndex
    names: list[str]
    paths: list[Path]
    durations: list[float]
    cpu_s: float
    postings: int
    pcm: list[np.ndarray]


def build_catalogue(paths: list[Path]) -> Catalogue:
    index = fpr.MemoryIndex()
    durations, pcm = [], []
    started = time.process_time()
    for number, path in enumerate(paths):
        with path.open("rb") as fh:
            sampled = decode_whole(fh)
        if sampled.unchecked:
            raise RuntimeError(f"{path}: {sampled.unchecked}")
        window = sampled.windows[0]
        durations.append(window.duration_s)
        pcm.append(window.pcm)
        index.add(number, fpr.reference_fingerprint(window.pcm))
    cpu = time.process_time() - started
    return Catalogue(index, [track_name(p) for p in paths], paths, durations, cpu, index.postings_count, pcm)


def shared_audio(catalogue: Catalogue, true_ref: int, true_at, other: fpr.Match, centres: list[float]) -> float:
    """Waveform correlation of the true reference and `other` over the stretch `other` matched.

    `true_at(x)` maps an upload second to the true reference's timeline; `centres` are
    the upload's window centres. Two references that share recorded audio (a remaster,
    a reused stem) correlate (0.2-1.0) at the aligned position; unrelated music does not
    (< 0.1). Best over the window centres `other` covers and +-100 ms of lag.
    """
    rate = fpr.SAMPLE_RATE
    a_pcm, b_pcm = catalogue.pcm[true_ref], catalogue.pcm[other.reference]
    half, lag = 4 * rate, rate // 10
    inside = [c for c in centres if other.query_start_s - 6 <= c <= other.query_end_s + 6]
    best = 0.0
    for centre in inside or [(other.query_start_s + other.query_end_s) / 2]:
        a_time, b_time = true_at(centre), other.offset_s + centre * other.speed
        a0, b0 = int(a_time * rate) - half, int(b_time * rate) - half - lag
        if a0 < 0 or b0 < 0 or a0 + 2 * half > a_pcm.size or b0 + 2 * (half + lag) > b_pcm.size:
            continue
        seg = a_pcm[a0 : a0 + 2 * half].astype(np.float64)
        ref = b_pcm[b0 : b0 + 2 * (half + lag)].astype(np.float64)
        n = 1 << int(np.ceil(np.log2(ref.size + seg.size)))
        cc = np.fft.irfft(np.conj(np.fft.rfft(seg, n)) * np.fft.rfft(ref, n), n)[: 2 * lag + 1]
        energy = np.concatenate([[0.0], np.cumsum(ref**2)])
        norm = np.sqrt((energy[seg.size : seg.size + cc.size] - energy[: cc.size]) * np.sum(seg**2)) + 1e-12
        best = max(best, float(np.max(np.abs(cc / norm))))
    return round(best, 3)


#: Waveform correlation above which two references share recorded audio (see `shared_audio`).
SHARED_AUDIO_CORRELATION = 0.2


# ---------------------------------------------------------------- robustness


def run_queries(catalogue: Catalogue, per_reference: int, references: list[int], transforms, log) -> list[dict]:
    rng = random.Random(SEED)
    jobs = []
    for t in transforms:
        for r in references:
            for q in range(per_reference):
                start = rng.uniform(0.0, max(0.0, catalogue.durations[r] - t.length_s - 0.5))
                safe = t.name.replace(" ", "_").replace("%", "pc").replace("+", "p").replace("-", "m")
                out = CACHE / "queries" / safe / f"{r:02d}-{q}-{start:.2f}.{t.ext}"
                jobs.append((t, r, start, out, rng.randrange(1 << 30)))
    log(f"generating {len(jobs)} queries with ffmpeg (cached in {CACHE})")
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda j: make_query(catalogue.paths[j[1]], j[2], j[0], j[3], j[4]), jobs))
    rows = []
    for t, r, start, out, _ in jobs:
        up = fingerprint_upload(out)
        matches = fpr.match(up.fp, catalogue.index.postings(up.keys), min_score=1) if not up.sampled.unchecked else []
        true = next((m for m in matches if m.reference == r), None)
        speed = {"speed +3%": 1.03, "speed -3%": 0.97, "tempo +5%": 1.05, "tempo -5%": 0.95}.get(t.name, 1.0)
        if true is not None and true.score >= 15:
            true_at = lambda x, m=true: m.offset_s + x * m.speed  # noqa: E731
        else:
            true_at = lambda x, s0=start, v=speed: s0 + x * v  # noqa: E731
        others, shared = [], []
        for m in matches:
            if m.reference == r:
                continue
            centres = [w.start_s + w.duration_s / 2 for w in up.sampled.windows]
            corr = shared_audio(catalogue, r, true_at, m, centres) if m.score >= 15 else 0.0
            (shared if corr >= SHARED_AUDIO_CORRELATION else others).append((m, corr))
        best = max(others, key=lambda mc: mc[0].score, default=None)
        rows.append({
            "transform": t.name, "reference": r, "start_s": round(start, 2), "unchecked": up.sampled.unchecked,
            "true_score": true.score if true else 0,
            "offset_error_s": round(true.offset_s - start, 3) if true else None,
            "speed": true.speed if true else None, "pitch": true.pitch_semitones if true else None,
            "windows": true.windows if true else 0,
            "best_false": best[0].score if best else 0,
            "best_false_reference": best[0].reference if best else None,
            "best_false_correlation": best[1] if best else None,
            "shared_audio": [(m.reference, m.score, c) for m, c in shared],
            "keys": len(up.keys), "cpu_s": up.cpu_s, "bytes": up.sampled.bytes_read,
        })  # fmt: skip
    return rows


def percentiles(values, qs=(0, 1, 5, 50, 95, 99, 100)) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    return {f"p{q}": round(float(np.percentile(array, q)), 1) for q in qs} if array.size else {}


# ---------------------------------------------------------------- cost


def cost_files(paths: list[Path], quick: bool, log) -> dict[str, Path]:
    """Long uploads made of the references (concatenated): MP3 192k 3/10/60 min and others at 10 min."""
    out = CACHE / "cost"
    out.mkdir(parents=True, exist_ok=True)
    listing = out / "concat.txt"
    same_codec = [p for p in paths if p.suffix == ".opus"]  # the concat demuxer needs one codec
    listing.write_text("".join(f"file '{p}'\n" for p in same_codec * 2))
    specs = {
        "mp3 192k 3 min": (180, ["-c:a", "libmp3lame", "-b:a", "192k"], "mp3"),
        "mp3 192k 10 min": (600, ["-c:a", "libmp3lame", "-b:a", "192k"], "mp3"),
        "m4a 192k 10 min, moov at end": (600, ["-c:a", "aac", "-b:a", "192k"], "m4a"),
        "m4a 192k 10 min, moov at front": (600, ["-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart"], "m4a"),
        "opus 128k 10 min": (600, ["-c:a", "libopus", "-b:a", "128k", "-ar", "48000"], "opus"),
        "flac 10 min": (600, ["-c:a", "flac"], "flac"),
    }
    if not quick:
        specs["mp3 192k 60 min"] = (3600, ["-c:a", "libmp3lame", "-b:a", "192k"], "mp3")
    files = {}
    for name, (seconds, codec, ext) in specs.items():
        path = out / (name.replace(" ", "_").replace(",", "") + "." + ext)
        if not path.exists():
            log(f"encoding {name}")
            tmp = path.with_suffix(".tmp." + ext)
            _run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-t", str(seconds),
                  "-map_metadata", "-1", "-vn", "-ar", "44100", "-ac", "2", *codec, str(tmp)])  # fmt: skip
            tmp.rename(path)
        files[name] = path
    # The 10-min MP3 again behind an ID3v2 tag with a 1 MiB cover (APIC): the view skips it.
    tagged = out / "mp3_192k_10_min_id3_cover.mp3"
    if not tagged.exists():
        cover = out / "cover.png"
        _run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "nullsrc=s=1024x1024,geq=random(1)*255:128:128",
              "-frames:v", "1", str(cover)])  # fmt: skip
        tmp = tagged.with_suffix(".tmp.mp3")
        _run(["ffmpeg", "-v", "error", "-y", "-i", str(files["mp3 192k 10 min"]), "-i", str(cover), "-map", "0:a", "-map", "1",
              "-c", "copy", "-id3v2_version", "3", "-metadata:s:v", "title=Cover", "-disposition:v", "attached_pic", str(tmp)])  # fmt: skip
        tmp.rename(tagged)
    files["mp3 192k 10 min + ID3v2 cover"] = tagged
    return files


def cost_rows(files: dict[str, Path], repeats: int) -> list[dict]:
    rows = []
    for name, path in files.items():
        ups = [fingerprint_upload(path) for _ in range(repeats)]
        up = ups[0]
        rows.append({
            "upload": name, "size_mib": round(path.stat().st_size / 2**20, 2),
            "reads": up.sampled.reads, "read_mib": round(up.sampled.bytes_read / 2**20, 3),
            "tag_skipped_kib": round(up.sampled.skipped_tag_bytes / 1024, 1),
            "cpu_s": round(float(np.median([u.cpu_s for u in ups])), 3),
            "audio_s": round(up.sampled.audio_s, 1), "keys": len(up.keys),
            "fingerprint_bytes": len(fpr.encode(up.fp)), "unchecked": up.sampled.unchecked,
        })  # fmt: skip
    return rows


# ---------------------------------------------------------------- report


def report_robustness(rows: list[dict], names: list[str], hours: float, threshold: int) -> tuple[list[dict], list[dict]]:
    """Print the robustness table and the score distributions; return (table, shared-audio pairs)."""
    print(f"\nContent identification: {len(names)} references ({hours:.2f} h), {len(rows)} queries, "
          f"threshold MIN_SCORE={threshold}\n")  # fmt: skip
    print(f"{'transform':16s} {'goal':>5s} {'recall':>7s} {'n':>4s} {'false':>5s}  true score p0/p5/p50   best false p50/p100  speed  pitch  |offset err|")
    table = []
    for t in TRANSFORMS:
        sel = [r for r in rows if r["transform"] == t.name]
        true = [r["true_score"] for r in sel]
        false = [r["best_false"] for r in sel]
        recall = float(np.mean([s >= threshold for s in true]))
        false_matches = sum(f >= threshold for f in false)
        speeds = [r["speed"] for r in sel if r["speed"]]
        pitches = [r["pitch"] for r in sel if r["pitch"] is not None and r["true_score"] >= threshold]
        tp, fp_ = percentiles(true), percentiles(false)
        errors = [abs(r["offset_error_s"]) for r in sel if r["offset_error_s"] is not None and r["true_score"] >= threshold]
        table.append({"transform": t.name, "goal": t.goal, "recall": round(recall, 4), "queries": len(sel),
                      "false_matches": false_matches, "true": tp, "false": fp_})  # fmt: skip
        print(f"{t.name:16s} {t.goal:5.2f} {recall:7.3f} {len(sel):4d} {false_matches:5d}  "
              f"{tp['p0']:5.0f} {tp['p5']:5.0f} {tp['p50']:5.0f}   {fp_['p50']:5.0f} {fp_['p100']:5.0f}  "
              f"{np.median(speeds) if speeds else 0:5.3f} {np.median(pitches) if pitches else 0:5.1f}  {np.median(errors) if errors else 0:6.3f} s")  # fmt: skip
    all_true = [r["true_score"] for r in rows]
    all_false = [r["best_false"] for r in rows]
    print(f"\nscores of true candidates:            {percentiles(all_true)}")
    print(f"scores of best non-matching reference: {percentiles(all_false)}")
    print(f"false matches over all {len(rows)} queries x {len(names) - 1} distractors: {sum(f >= threshold for f in all_false)}")
    misses = [r for r in rows if r["true_score"] < threshold]
    for r in misses[:20]:
        print(f"  miss: {r['transform']:14s} {names[r['reference']]:40s} at {r['start_s']:7.1f}s "
              f"score {r['true_score']} (best false {r['best_false']}) {r['unchecked'] or ''}")  # fmt: skip
    pairs: dict[tuple[str, str], list] = {}
    for r in rows:
        for other, score, corr in r["shared_audio"]:
            pairs.setdefault((names[r["reference"]], names[other]), []).append((score, corr))
    evidence = [{"pair": list(k), "queries": len(v), "max_score": max(x for x, _ in v),
                 "min_correlation": min(c for _, c in v)} for k, v in sorted(pairs.items())]  # fmt: skip
    print(f"\nreferences sharing recorded audio (candidates with waveform correlation >= {SHARED_AUDIO_CORRELATION}; not distractors):")
    for e in evidence:
        print(f"  {e['pair'][0]:38s} ~ {e['pair'][1]:38s} {e['queries']:3d} queries, score up to {e['max_score']:4d}, correlation >= {e['min_correlation']}")
    corrs = [r["best_false_correlation"] for r in rows if r["best_false_correlation"] is not None and r["best_false"] >= 15]
    if corrs:
        print(f"waveform correlation of the best distractors scoring >= 15: max {max(corrs)}")
    keys = [r["keys"] for r in rows]
    for r in rows:
        if r["best_false"] >= threshold:
            print(f"  FALSE MATCH: {r['transform']} {names[r['reference']]} at {r['start_s']}s -> {names[r['best_false_reference']]} "
                  f"score {r['best_false']} (waveform correlation {r['best_false_correlation']})")
    print(f"\ndistinct query keys per upload: median {np.median(keys):.0f}, max {max(keys)} (budget {MAX_QUERY_KEYS})")

    return table, evidence


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.content_id", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 references, 1 query each, no 60-min file")
    parser.add_argument("--output", type=Path, default=RESULTS / "content-id.json")
    parser.add_argument("--report", action="store_true", help="print the robustness table of --output again (current MIN_SCORE)")
    args = parser.parse_args(argv)
    if args.report:
        saved = json.loads(args.output.read_text())
        report_robustness(saved["rows"], saved["names"], saved.get("hours", 0.0), params.MIN_SCORE)
        return 0

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    paths = reference_tracks()
    if args.quick:
        keep = [i for i, p in enumerate(paths) if track_name(p) in {
            "frontiers", "aftermath_soundtrack/track3_enhanced", "aftermath_soundtrack/track21",
            "legacy_soundtrack/track10", "legacy_soundtrack/track4", "original_soundtrack/track3",
            "original_soundtrack/track2", "menu"}]  # fmt: skip
    log(f"indexing {len(paths)} references")
    catalogue = build_catalogue(paths)
    hours = sum(catalogue.durations) / 3600
    references = keep if args.quick else list(range(len(paths)))
    rows = run_queries(catalogue, 1 if args.quick else 3, references, TRANSFORMS, log)
    threshold = params.MIN_SCORE
    table, evidence = report_robustness(rows, catalogue.names, hours, threshold)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"threshold": threshold, "table": table, "rows": rows, "names": catalogue.names,
                                       "hours": hours}, indent=1))  # fmt: skip
    log("cost files")
    files = cost_files(paths, args.quick, log)
    costs = cost_rows(files, 3 if args.quick else 5)
    print(f"\n{'upload':34s} {'MiB':>7s} {'reads':>5s} {'read MiB':>8s} {'cpu s':>6s} {'audio s':>7s} {'keys':>5s} {'fp bytes':>8s}")
    for c in costs:
        print(f"{c['upload']:34s} {c['size_mib']:7.1f} {c['reads']:5d} {c['read_mib']:8.3f} {c['cpu_s']:6.3f} "
              f"{c['audio_s']:7.1f} {c['keys']:5d} {c['fingerprint_bytes']:8d} {c['unchecked'] or ''}")  # fmt: skip
    bytes_per_posting = 8  # (reference number u32, point u32)
    index = {
        "references": len(paths), "hours": round(hours, 3), "postings": catalogue.postings,
        "postings_per_hour": round(catalogue.postings / hours), "raw_bytes_per_hour": round(catalogue.postings * bytes_per_posting / hours),
        "distinct_keys": len(catalogue.index._lists), "hot_keys": catalogue.index.hot_keys(),
        "ingest_cpu_s": round(catalogue.cpu_s, 2), "reference_hours_per_cpu_minute": round(hours / (catalogue.cpu_s / 60), 2),
    }  # fmt: skip
    print(f"\nindex: {index['postings']} postings for {hours:.2f} h = {index['postings_per_hour']} postings/h, "
          f"{index['raw_bytes_per_hour'] / 2**20:.2f} MiB/h at {bytes_per_posting} B/posting; "
          f"{index['distinct_keys']} distinct keys, {index['hot_keys']} hot (> {params.MAX_POSTINGS_PER_KEY} postings)")  # fmt: skip
    print(f"ingestion (decode + reference fingerprint): {catalogue.cpu_s:.1f} CPU s = {index['reference_hours_per_cpu_minute']} reference hours per CPU minute")
    cpu = [r["cpu_s"] for r in rows if r["transform"] != "excerpt 10s"]
    print(f"CPU per query upload (45 s file, decode + fingerprint): median {np.median(cpu):.3f} s, max {max(cpu):.3f} s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"threshold": threshold, "table": table, "index": index, "costs": costs,
        "shared_audio": evidence, "true_scores": percentiles([r["true_score"] for r in rows]),
        "false_scores": percentiles([r["best_false"] for r in rows]),
        "rows": rows, "names": catalogue.names, "hours": hours}, indent=1))  # fmt: skip
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
