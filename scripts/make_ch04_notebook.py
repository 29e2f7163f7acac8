"""Write book/04_training.ipynb from this script, without outputs.

Run from anywhere: ``.venv/bin/python scripts/make_ch04_notebook.py``. Edit the chapter here, not
in the notebook, so that the two never drift.
"""

from notebook_tools import Chapter

ch = Chapter("04_training", "ch04")

ch.md("""
# Training

The architecture of chapter 2 only becomes an enhancer once it has seen a great many noisy
examples together with the clean speech they hide. This chapter walks through how `micro` is
trained: where the examples come from, what the loss measures, what the training loop writes, and
what the shipped checkpoint achieves. The long run behind that checkpoint takes hours on a CPU, so
here we run the same loop for a few seconds and load the result of the long run from disk.

**What you will build**

- training mixtures drawn on the fly from the shipped clips: recorded and synthetic noise, a
  simulated room, random SNR and level, each one you can see and hear;
- the hybrid loss, term by term, on estimates that are more or less noisy;
- a short training run with the `cpu-tiny` preset, its log, its files and its curves;
- the shipped `micro` checkpoint: its model card, an enhanced clip with PESQ, STOI and SI-SNR;
- the reference `gtcrn`, trained by the same loop on the same data, side by side with `micro`;
- the results on the VoiceBank-DEMAND test set, when they have been measured.
""")

ch.install()

ch.code("""
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from IPython.display import Audio, Markdown, display

import gtcrn_micro as gm
from gtcrn_micro import data, training
""")

ch.md("""
## Mixtures you can hear

A training example is a pair `(noisy, clean)`. Instead of storing a fixed set of pairs, the
`MixtureDataset` makes each one when it is asked for: it cuts a random segment of clean speech,
maybe puts it in a simulated room, adds a noise at a random SNR and scales the sum to a random
level. The draw is a pure function of `(seed, epoch, index)`, so a run that is stopped and resumed
sees exactly the same examples, and the validation mixtures never change. `MixConfig` holds the
ranges; the defaults are what the shipped checkpoint was trained with:
""")

ch.code("""
torch.set_num_threads(1)  # small jobs on a shared CPU: one thread is the fastest
config = gm.get_config("micro")  # audio settings: 16 kHz, n_fft 512, hop 256
sample_rate = config.audio.sample_rate
data.MixConfig()
""")

ch.md("""
`shipped_mixture_dataset` builds such a dataset from the six clips that ship with the package.
To hear each kind of example once, we force one branch at a time: a recorded noise, the same in a
simulated room, and a synthetic noise. `mix(rng)` returns the pair and what it drew.
""")

ch.code("""
forced = {"recorded noise": {},
          "reverberant room": {"reverb_prob": 1.0, "rt60": (0.6, 0.8)},  # a large room: the tail is easy to hear
          "synthetic noise": {"synthetic_prob": 1.0}}
examples = {}
for i, (title, branch) in enumerate(forced.items()):
    settings = dict(segment_seconds=3.0, reverb_prob=0.0, synthetic_prob=0.0, babble_prob=0.0) | branch
    ds = data.shipped_mixture_dataset(data.MixConfig(**settings))
    examples[title] = ds.mix(np.random.default_rng(4 + i))  # (noisy (L,), clean (L,), info)
pd.DataFrame({title: info for title, (_, _, info) in examples.items()}).T
""")

ch.md("""
`speech_index` is the clip of the speech bank the excerpt came from, `snr_db` the
speech-to-noise ratio of the mix, `level_db` the RMS level of the noisy signal in
dB below full scale, `rt60` the reverberation time of the room (seconds for the reverberation to
decay by 60 dB), and `noise` the kind of noise.
""")

ch.code("""
gm.plot_spectrograms({title: noisy for title, (noisy, _, _) in examples.items()}, config)
""")

ch.md("""
*Figure 4.1: the three noisy training examples. The recorded noise has its own structure in time
and frequency; the room smears every syllable into the next; the synthetic noise (its kind is in
the table above) has the same spectrum from start to end.*
""")

ch.md("""
Listen to each noisy example, then its clean target. (The players normalise the loudness; the
mixtures themselves are as quiet as -35 dBFS, because real microphones often are.)
""")

ch.code("""
for title, (noisy, clean, info) in examples.items():
    print(title)
    display(Audio(noisy, rate=sample_rate), Audio(clean, rate=sample_rate))
""")

ch.md("""
In the room, the target is not the dry speech. It keeps the direct sound and the reflections of
the first 50 ms, which the ear fuses with the direct sound anyway, and drops the late tail: the
model learns to remove late reverberation as well as noise, without having to undo the room
completely.
""")

ch.code("""
noisy, target, info = examples["reverberant room"]
gm.plot_spectrograms({"noisy, in the room": noisy, "target: direct + first 50 ms": target}, config)
""")

ch.md("""
*Figure 4.2: the reverberant example and its target. The late reverberation that fills the gaps
between the syllables on the left is gone on the right; the noise is gone too.*
""")

ch.md("""
## The hybrid loss

The model predicts a spectrum `est_spec`; the loss compares it with the clean spectrum in three
ways (see `gtcrn_micro/training/losses.py`). Two terms compare compressed spectra, where each
magnitude is raised to the power 0.3 as in chapter 1 so that quiet bins count too: the mean
squared error of the real and imaginary parts (`complex`, weight 30) and of the magnitudes
(`magnitude`, weight 70). The third, `sisnr`, is $-\\log_{10}$ of the scale-invariant SNR of the
waveforms (weight 1), which watches the phase and the time signal.

To see how the terms move, take the clean speech plus some noise as the "estimate", at SNRs from
-5 dB (very noisy) to 30 dB (nearly clean):
""")

ch.code("""
clean, noise = gm.load_sample("speech_en_1"), gm.load_sample("noise_wind")
rows = training.loss_terms_vs_snr(clean, noise, snrs_db=(-5, 0, 5, 10, 20, 30))
pd.DataFrame(rows).set_index("snr_db").round(3)
""")

ch.code("""
training.plot_loss_terms(rows)
""")

ch.md("""
*Figure 4.3: the weighted loss terms and their sum against the SNR of the estimate. The spectral
terms fall towards zero as the estimate gets cleaner; the SI-SNR term falls by 1 for every 10 dB
without levelling off, so it keeps pushing once the spectra already agree closely.*
""")

ch.md("""
The SI-SNR term ignores the scale of the estimate; the spectral terms do not. An estimate that is
clean but half as loud as it should be is perfect for SI-SNR and penalised by the two MSE terms:
""")

ch.code("""
clean_spec = gm.stft(torch.from_numpy(clean))  # (1,F,T,2)
scaled = {f"clean x {g}": training.hybrid_loss(g * clean_spec, clean_spec, len(clean)) for g in (0.5, 2.0)}
pd.DataFrame({name: {k: v.item() for k, v in terms.items()} for name, terms in scaled.items()}).T.round(3)
""")

ch.md("""
## A short training run

`train(TrainConfig)` is the whole loop: Adam with a warm-up and a cosine decay, the hybrid loss,
gradient clipping, a validation pass after every epoch (loss, PESQ, STOI, SI-SNR on fixed
mixtures), and checkpoints from which a killed run resumes exactly. `PRESETS` holds named
settings; `cpu-tiny` is made for this page:
""")

ch.code("""
training.PRESETS["cpu-tiny"]
""")

ch.md("""
`shipped_corpus` copies the shipped clips into a speech folder and a noise folder, the layout
the trainer expects from real corpora. The validation split is by a hash of each file name, so
one speech clip and one noise clip are held out and never trained on. We run four short epochs.
""")

ch.code("""
workdir = Path(tempfile.mkdtemp(prefix="gtcrn-micro-"))
speech_dir, noise_dir = data.shipped_corpus(workdir)
settings = training.PRESETS["cpu-tiny"] | {"epochs": 4}
train_cfg = training.TrainConfig(model="micro", speech_dirs=[str(speech_dir)], noise_dirs=[str(noise_dir)],
                                 out_dir=str(workdir / "run"), progress=False, threads=1, **settings)
train_cfg.total_steps, train_cfg.batch_size, train_cfg.segment_seconds
""")

ch.code("""
history = training.train(train_cfg)  # prints one log line per checkpoint and per epoch
""")

ch.code("""
training.plot_history(history)
""")

ch.md("""
*Figure 4.4: training and validation loss (left) and validation PESQ (right) of the short run.
A few dozen steps on two clips only show that the loop runs; the numbers mean nothing yet.*
""")

ch.md("""
Everything the run needs to be resumed, inspected or released is in its folder: `last.pt`
(weights, optimiser, scheduler, random states, position in the epoch), `best.pt` (chosen on
validation PESQ), the log, the history, the settings and the curves.
""")

ch.code("""
sorted(p.name for p in (workdir / "run").iterdir())
""")

ch.md("""
This run only demonstrates the loop. The shipped checkpoint came from the same `train` function
run far longer on real speech and noise corpora, then fine-tuned on more speech (below); its model
card records the data, the number of steps and the exact commands. To train your own, point the same command at your
folders: `gtcrn-micro train --model micro --speech DIR --noise DIR --out runs/micro`.
""")

ch.md("""
## The shipped checkpoint

The package ships the weights of its best `micro` run, with a model card that
`release_checkpoint` writes from the run's own files: the commands, the data, the steps, the
validation scores, and the test scores once measured.
""")

ch.code("""
checkpoint = gm.inference.shipped_checkpoint("micro")
display(Markdown(checkpoint.with_suffix(".md").read_text()))
""")

ch.md("""
The checkpoint itself stores the validation record of the epoch it was chosen at:
""")

ch.code("""
ckpt = training.load_checkpoint(checkpoint)
pd.DataFrame([ckpt["validation"]]).round(3)
""")

ch.md("""
### Fine-tuning when the data was the problem

The first long run trained on about two hours of speech, most of it crowd-sourced voice commands
recorded on whatever microphone the speaker had. Its validation PESQ kept rising for 23 epochs,
while on studio-recorded speech it did not: later checkpoints cleaned the validation mixtures
better and the test set worse. More epochs on the same material could not fix that, so we added
about three hours of studio-recorded speech (the voice acting of the game Fish Fillets NG, in
Czech and Dutch; `scripts/fetch_fillets_speech.sh` fetches it) and fine-tuned: `train --init CKPT`
starts a new run from a checkpoint's weights with a fresh optimiser and learning-rate schedule.

The new validation split holds studio speech too, so it scores the starting weights first. The
run keeps them as its best until an epoch beats them. The shipped `micro` went through six such
fine-tunings: two on the larger corpus, one into a TRA frame energy that int8 can hold (chapter 5),
one more at a lower learning rate, and two that draw each speech source equally often (below);
each run's best validation epoch was kept. The card above
lists the whole chain with each run's commands and hours. The int8 model does not come from this
checkpoint but from a sibling, `micro_bounded`, fine-tuned with a penalty on activations that
int8 cannot hold and chosen on how its *int8* copy scored on validation mixtures; chapter 5 tells
that story. The table shows the last run's starting weights and the released weights, on that run's
validation split:
""")

ch.code("""
if ckpt.get("initial"):  # a fine-tuned checkpoint records where it started
    keys = ["val_pesq", "val_stoi", "val_si_snr"]
    display(pd.DataFrame({"starting weights": ckpt["initial"], "fine-tuned": ckpt["validation"]}).T[keys].astype(float).round(3))
else:
    print("This checkpoint was trained from scratch.")
""")

ch.md("""
How much can 48 validation mixtures tell apart? Two checkpoints scored on the *same* mixtures can
be compared mixture by mixture, and the standard error of the mean difference says how large a
difference those mixtures resolve. `scripts/compare_checkpoints.py` does that on a run's own
validation split; here for the last fine-tuning step of the float `micro`, `runs/micro-abs` to
`runs/micro-abs2`, with the test-set score of each read from the benchmark files:
""")

ch.code("""
import json

bench = Path(gm.__file__).resolve().parents[1] / "benchmarks"

def test_pesq(results):  # the micro torch row of a benchmark_quality results.csv
    return pd.read_csv(results).query("model == 'micro' and backend == 'torch'")["pesq"].item()
""")

ch.code("""
def compare(name, test_before, test_now):
    cmp = json.loads((bench / "validation" / f"{name}.json").read_text())
    display(pd.DataFrame(cmp["rows"]).set_index("checkpoint").drop(columns="path").round(4))
    step = cmp["rows"][1]
    print(f"validation: {step['diff']:+.4f} PESQ-wb, standard error {step['se']:.4f} ({step['diff'] / step['se']:+.1f} SE); "
          f"test set: {test_before:.3f} -> {test_now:.3f} ({test_now - test_before:+.3f})")
compare("micro-abs2", test_pesq(bench / "quality/finetuned/micro-abs/results.csv"), test_pesq(bench / "quality/finetuned/micro-abs2/results.csv"))
""")

ch.md("""
The run kept its better-scoring epoch, as its rule says, but the difference is a fraction of one
standard error: on these mixtures the two checkpoints cannot be told apart, and the test set
(reported only) went the other way. Telling fine-tuning steps apart needs a validation set several
times larger, or a rule that asks a new checkpoint to win by about two standard errors.

The last fine-tuning has both. Until then every run drew each speech *file* equally often, so
about 81% of the excerpts, in training and in validation, were Fish Fillets' short Czech and
Dutch clips, and 3% the read English of the DNS 2020 set. `train --balance-speech` draws each
speech folder equally often instead (four folders, a quarter of the first draws each; excerpts
with too few active frames are redrawn from any folder, so the Picovoice commands, short and full
of pauses, end up nearer a tenth: `data/README.md`). `runs/micro-bal` fine-tuned
`micro-abs2` that way for five epochs, validated on 200 mixtures, and its release rule was written
down before its first epoch ended (`runs/micro-bal/README.md`): ship it only if it beats its
starting weights by two standard errors.
""")

ch.code("""
compare("micro-bal", test_pesq(bench / "quality/finetuned/micro-abs2/results.csv"), test_pesq(bench / "quality/finetuned/micro-bal/results.csv"))
""")

ch.md("""
It passed, so it was shipped; the test-set change is reported after the choice, not used for it.
`runs/micro-bal2` then fine-tuned `micro-bal` four more epochs the same way, under the same rule:
""")

ch.code("""
compare("micro-bal2", test_pesq(bench / "quality/finetuned/micro-bal/results.csv"), test_pesq(bench / "quality/results.csv"))
""")

ch.md("""
It passed by more standard errors than `micro-bal` did, with a third of the gain, and was
shipped; on the test set it scored a little lower. Successive fine-tunes of one model agree
mixture by mixture, so even a gain too small to matter is many standard errors: the rule of the
next run also asks for a gain of at least 0.010 PESQ-wb.

That run, `runs/micro-en`, asked whether the model should hear more read English, the kind of
speech the test set holds: it drew the DNS 2020 read English twice as often as each other folder
in training (`train --speech-weights 2 1 1 1`), on fresh training mixtures (`--seed 1`) but the
same validation mixtures (`--val-seed 10000`). The comparison also splits the validation
mixtures by the speech folder they came from:
""")

ch.code("""
compare("micro-en", test_pesq(bench / "quality/finetuned/micro-bal2/results.csv"), test_pesq(bench / "quality/results.csv"))
cmp = json.loads((bench / "validation" / "micro-en.json").read_text())
pd.DataFrame([{"speech folder": Path(g["folder"]).name, "mixtures": g["items"]}
              | {r["checkpoint"]: r["mean"] for r in g["rows"]}
              | {"difference": g["rows"][1]["diff"], "SE": g["rows"][1]["se"]}
              for g in cmp["by_folder"]]).round(4)
""")

ch.md("""
The whole gain is on the read English mixtures; the other folders did not move. It passed its
rule and is the shipped float `micro`. On the test set, read English too, it moved by a few
thousandths only: the DNS 2020 files carry no speaker ids, so the split by file may leave the same
voices on both sides, and what validation rewards here may be those voices rather than English
read speech in general. The folders are not a quarter each either: excerpts with too few active
frames are redrawn from any folder, which thins out the short, pause-heavy Picovoice commands.
""")

ch.md("""
`load_enhancer` wraps the weights into an enhancer that takes a waveform and returns one of the
same length (the `torch` backend runs the whole clip at once). We enhance a shipped speech clip
mixed with birdsong at 5 dB.
""")

ch.code("""
enhancer = gm.load_enhancer("micro", backend="torch")
clean = gm.load_sample("speech_en_2")
noisy, _ = gm.mix_at_snr(clean, gm.load_sample("noise_birds"), snr_db=5.0, rng=0)  # (L,)
enh = enhancer.enhance(noisy)  # (L,)
enhancer
""")

ch.code("""
gm.plot_spectrograms({"noisy, 5 dB": noisy, "enhanced (micro)": enh, "clean": clean}, config)
""")

ch.md("""
*Figure 4.5: the noisy clip, what the shipped `micro` checkpoint makes of it, and the clean
speech, on one colour scale.*
""")

ch.code("""
display(Audio(noisy, rate=sample_rate), Audio(enh, rate=sample_rate), Audio(clean, rate=sample_rate))
""")

ch.md("""
PESQ (wide band, 1 to 4.64), STOI (0 to 1) and SI-SNR (dB) of the noisy and the enhanced clip,
both against the clean speech. One clip is an anecdote, and the shipped clips are cut from the
same development data the model was trained on (it may even have heard this one), so this is not a
test; the test set is below.
""")

ch.code("""
scores = {"noisy": training.score_pair(clean, noisy), "enhanced": training.score_pair(clean, enh)}
pd.DataFrame(scores).T.round(3)
""")

ch.md("""
## The reference GTCRN, trained the same way

The same `train` loop with `--model gtcrn` trains the paper's model on the same mixtures, so that
the cost of `micro`'s integer-friendly design can be read off: no LayerNorm, BatchNorm instead,
compressed features, a convolution for the intra-frame path. Both shipped checkpoints record the
validation scores of the epoch they were chosen at. The two runs had different lengths (the
steps and hours are in the table), and a run's validation mixtures come from its own speech
folders (the last column): scores on different validation sets do not compare. This is a
side-by-side, not a controlled experiment; the test-set table below is the common ground.
""")

ch.code("""
rows = {}
for name in ("micro", "gtcrn"):
    path = gm.inference.shipped_checkpoint(name)
    if path is not None:  # a model without a shipped checkpoint is left out
        ckpt = training.load_checkpoint(path)
        rows[name] = ckpt["validation"] | {"speech folders": ", ".join(ckpt["train_config"]["speech_dirs"])}
cols = ["epoch", "step", "cpu_hours", "val_pesq", "val_stoi", "val_si_snr"]
table = pd.DataFrame(rows).T
table[cols] = table[cols].astype(float).round(3)
table[cols + ["speech folders"]]
""")

ch.md("""
## Results on the test set

`scripts/benchmark_quality.py` scores the noisy input and each model on the 824 utterances of the
VoiceBank-DEMAND test set, which no training or model choice ever used, and writes
`benchmarks/quality/results.md`. The table below is read from that file.
""")

ch.code("""
results = Path(gm.__file__).resolve().parents[1] / "benchmarks" / "quality" / "results.md"
not_yet = "*Not measured yet: run `scripts/benchmark_quality.py` to write this table.*"
display(Markdown(results.read_text() if results.exists() else not_yet))
""")

ch.md("""
## Does it leave clean speech alone?

The training mixtures never go above 20 dB SNR, so the model never sees speech that needs no
cleaning. `scripts/compare_checkpoints.py --snr` mixes the *same* validation excerpts at fixed
SNRs, up to 100 dB (clean speech), and scores the noisy input and each checkpoint: the shipped
`micro` of that time (`micro-bal`), the one it replaced (`micro-abs2`), `gtcrn`, and an experiment,
`runs/micro-snr30`: `micro-abs2` fine-tuned with training SNRs drawn from -5..30 dB
(`train --snr-max 30`).
""")

ch.code("""
sweep = json.loads((bench / "validation" / "snr-sweep.json").read_text())
names = ["input", *sweep["checkpoints"]]
table = pd.DataFrame([{"SNR (dB)": r["snr_db"], "metric": m} | {n: r[n][m] for n in names}
                      for r in sweep["rows"] for m in ("pesq", "stoi", "si_snr")])
table.set_index(["SNR (dB)", "metric"]).round(3)
""")

ch.md("""
Every model helps at every SNR up to 20 dB, but above it they start to cost: on clean speech
their output keeps an SI-SNR far below the input's and a STOI below it. Training up to 30 dB
narrows that gap against its starting weights (`micro-abs2`), at a small cost at 0 and 10 dB.
These excerpts are drawn file by file, so about four in five are Fillets' Czech and Dutch clips;
on them `micro-bal` scores below `micro-abs2` at 0 to 20 dB, the opposite of its
balanced validation mixtures and of the test set. Which checkpoint is "better" depends on whose
speech the validation set holds. On its own validation mixtures (-5..20 dB, 200 of them,
file by file) `micro-snr30` never beat its starting weights:
""")

ch.code("""
run = bench.parent / "runs" / "micro-snr30"
start = training.load_checkpoint(run / "last.pt")["initial"]["val_pesq"]
epochs = [round(h["val_pesq"], 3) for h in json.loads((run / "history.json").read_text())]
print(f"validation PESQ-wb: starting weights {start:.3f}; after each epoch {epochs}")
""")

ch.md("""
So by the rule every run follows, it was not released. Whether a device should favour clean or
very noisy input is a product decision, and the validation set is where it is written down.
""")

ch.md("""
## Summary

- `MixtureDataset` makes training pairs on the fly, deterministic in `(seed, epoch, index)`:
  random SNR and level, recorded, synthetic or babble noise, and simulated rooms whose target keeps
  only the first 50 ms of reflections; `shipped_mixture_dataset` and `shipped_corpus` make them
  from the shipped clips.
- `hybrid_loss` adds compressed-spectrum MSE terms, which care about level, to an SI-SNR term,
  which does not and never stops improving.
- `train(TrainConfig)` is one resumable loop; `PRESETS["cpu-tiny"]` runs it in seconds, the
  full preset for hours; the best checkpoint is chosen on validation PESQ only. `--init CKPT`
  fine-tunes from another run's weights, which count as the best until an epoch beats them.
- `load_enhancer("micro")` loads the shipped checkpoint, whose model card records how it was made.

The following chapters export the trained model and quantize it to int8 for the ESP32-S3.
""")

ch.write()
