"""The fingerprint's parameters. Changing any of the DSP ones changes the hashes:
bump `PARAMS_VERSION`, and re-index the references (an encoded fingerprint of another
version is refused by `decode`).

Why these values: docs/content-id.md ("Parameters").
"""

from __future__ import annotations

import math

#: Bumped whenever a DSP parameter below changes (stored in every encoded fingerprint).
PARAMS_VERSION = 1

# ---------------------------------------------------------------- analysis
#: Mono analysis rate (Hz): the band 100-3400 Hz needs no more.
SAMPLE_RATE = 8000
#: FFT length (256 ms) and hop (32 ms): 3.9 Hz bins resolve half-semitones from ~230 Hz up
#: (below, neighbouring log bins share FFT bins).
N_FFT = 2048
HOP = 256
FRAME_S = HOP / SAMPLE_RATE
#: Log-frequency axis: half-semitone bins from F_MIN to F_MAX (a pitch shift is a translation).
#: The bass and low mids hold most of a recording's energy per semitone: against
#: broadband noise their peaks survive best (docs/content-id.md); the telephone band
#: 300-3400 Hz is still 70 % of the axis.
F_MIN = 100.0
F_MAX = 3400.0
BINS_PER_SEMITONE = 2
N_BINS = int(math.floor(12 * BINS_PER_SEMITONE * math.log2(F_MAX / F_MIN))) + 1
#: Added to the power before the logarithm (digital silence is -100 dB, never a peak).
POWER_FLOOR = 1e-10

# ---------------------------------------------------------------- peaks
#: A peak is the maximum of +-PEAK_FRAMES frames (+-128 ms) and +-PEAK_BINS bins (+-2 semitones).
PEAK_FRAMES = 4
PEAK_BINS = 4
#: ... stands this far above the mean of +-BACKGROUND_FRAMES x +-BACKGROUND_BINS ...
BACKGROUND_FRAMES = 20
BACKGROUND_BINS = 12
QUERY_PROMINENCE_DB = 3.0
REFERENCE_PROMINENCE_DB = 3.0
#: ... and is louder than this (dB of FFT power; a full-scale sine is ~+54 dB, digital
#: silence -100 dB): near-silence has no peaks, and the floor is the same in every chunk.
LEVEL_FLOOR_DB = -40.0
#: Peaks kept per block of FRAMES_PER_SECOND_BLOCK frames (~1 s), strongest first.
FRAMES_PER_SECOND_BLOCK = 31
QUERY_PEAKS_PER_SECOND = 12
REFERENCE_PEAKS_PER_SECOND = 20

# ---------------------------------------------------------------- triplets
#: Target zone of an anchor: the next ZONE_FRAMES frames (0.96 s), +-ZONE_BINS bins (+-6 semitones).
ZONE_FRAMES = 30
ZONE_BINS = 12
#: Peaks after the anchor looked at to find its zone's nearest `fanout` peaks.
LOOKAHEAD_PEAKS = 48
#: Nearest zone peaks paired per anchor: C(4,2)=6 triplets for a query, C(6,2)=15 for a reference.
QUERY_FANOUT = 4
REFERENCE_FANOUT = 6
#: Shortest triplet (frames from the first to the third peak).
MIN_SPAN_FRAMES = 3
#: Quantisation of the time-gap ratio, of log2(span) and of the anchor's frequency band.
RATIO_STEPS = 8
SPAN_STEPS_PER_OCTAVE = 2
SPAN_SLOTS = int(math.floor(math.log2(ZONE_FRAMES / MIN_SPAN_FRAMES) * SPAN_STEPS_PER_OCTAVE)) + 1
BAND_BINS = 12
BANDS = (N_BINS + BAND_BINS - 1) // BAND_BINS
#: Every hash is below KEY_SPACE (< 2**19).
KEY_SPACE = BANDS * SPAN_SLOTS * RATIO_STEPS * (2 * ZONE_BINS + 1) ** 2

# ---------------------------------------------------------------- query and matching
#: Distinct keys looked up per upload: 10 BatchGetItem requests of 100 keys.
MAX_QUERY_KEYS = 1000
#: An index keeps at most this many postings per key; a longer list is "hot" (see `match`).
MAX_POSTINGS_PER_KEY = 1024
#: Time-scale hypotheses (query frames per reference frame): tempo +-5 %, speed +-3 %, margin.
SCALE_MIN = 0.93
SCALE_MAX = 1.07
SCALE_STEP = 0.004
#: Largest pitch difference considered (bins): +-1.5 semitones.
MAX_PITCH_BINS = 3
#: Offset histogram bin (frames) and inlier tolerance after the line fit (frames).
OFFSET_BIN_FRAMES = 2
INLIER_FRAMES = 1.5
#: Windows that seed a line (strongest first); another window adds its keys on the line
#: when at least MIN_WINDOW_SCORE of them agree, searched within 3 offset bins plus
#: GUIDE_SLOPE_TOLERANCE times its distance from the seed (the seed's slope error).
MAX_SEEDS = 3
MIN_WINDOW_SCORE = 3
GUIDE_SLOPE_TOLERANCE = 0.003
#: References examined in detail per query (most distinct key hits first).
MAX_CANDIDATES = 24
#: A match needs at least this score (distinct aligned keys): docs/content-id.md ("Threshold").
MIN_SCORE = 50
