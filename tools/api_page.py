"""Write book/api.md: one section per labkit layer, in course order.

Each section documents the names a notebook imports from the subpackage
(``from labkit.spiking import LIF``: autodoc follows the package's ``__all__``),
then each of its modules with the public names the package does not re-export,
so that every object is documented once, under the name the labs use.

Usage: ``python tools/api_page.py`` after adding a module or a subpackage (edit
``sections`` below), then ``make book``, which fails on any broken reference.
"""

from pathlib import Path
import importlib, types
sections = [
 ("Starting a lab: `labkit`", "What every lab calls first: {func}`labkit.start` resolves quick or full mode, seeds every generator once and picks the device. The base layer below it holds the settings, the atomic file writer and the shared argument checks. {func}`labkit.maximise` (lab 05) searches a black box over a discrete grid with a fixed number of queries.",
  "labkit", "start, Run, persistent_checkpoints, check, maximise, nrmse", [("labkit.config", True), ("labkit.io", True), ("labkit.checks", True), ("labkit.stats", True), ("labkit.metrics", True), ("labkit.run", False), ("labkit.exercise", True)]),
 ("Data: `labkit.data`", "MNIST and CIFAR-10 as tensors, from the offline data root or torchvision's download, with honest splits: a validation split for model selection and the test set kept for the end; and the same images pasted on canvases with boxes, for localisation (lab 08).",
  "labkit.data", None, [("labkit.data.datasets", False), ("labkit.data.augment", False), ("labkit.data.localisation", False), ("labkit.data.pairs", False), ("labkit.data.events", True)]),
 ("Spiking: `labkit.spiking`", "From inputs to spikes (labs 01 and 02): stimuli, spike codes and the event-camera emulator, then surrogate gradients, LIF neurons and the engine that runs layers over time.",
  "labkit.spiking", None, [("labkit.spiking.stimuli", True), ("labkit.spiking.encoding", True), ("labkit.spiking.events", True),
   ("labkit.spiking.surrogate", False), ("labkit.spiking.functional", False), ("labkit.spiking.neurons", False), ("labkit.spiking.sequential", False)]),
 ("Models: `labkit.models`", "Every network the labs train or analyse, ANN and SNN twins built from the same layers, all with one body-plus-head convention.",
  "labkit.models", None, [("labkit.models.classifiers", False), ("labkit.models.resnet", False), ("labkit.models.alexnet", False), ("labkit.models.conv", False),
   ("labkit.models.vqvae", False), ("labkit.models.localiser", False),
   ("labkit.models.autoencoder", False), ("labkit.models.events", False)]),
 ("Training: `labkit.train`", "One training loop for every lab: any loss, a dict of metrics, validation after each epoch, atomic checkpoints and resume; the classifier recipe is built on it.",
  "labkit.train", None, [("labkit.train.loop", False), ("labkit.train.recipes", False), ("labkit.train.checkpoint", False)]),
 ("Analysis: `labkit.analysis`", "Reading and comparing what networks compute (labs 03, 04, 05, 07 and 08): one recorder of layers by name, regression between feature spaces, CKA with intervals, other inputs (rate codes, an event camera), receptive fields, adversarial attacks, firing rates of spiking channels, gradient-free maximisation, and scores for localisers (IoU, mAP).",
  "labkit.analysis", None, [("labkit.analysis.record", False), ("labkit.analysis.regression", True), ("labkit.analysis.cka", True),
   ("labkit.analysis.similarity", False), ("labkit.analysis.inputs", True), ("labkit.analysis.receptive", True), ("labkit.analysis.attacks", True),
   ("labkit.analysis.rates", True), ("labkit.analysis.maximise", True), ("labkit.analysis.boxes", True),
   ("labkit.analysis.reconstruction", False)]),
 ("Feature visualisation: `labkit.fv`", "Images that drive a unit (labs 04 and 05), in Lucent's split: image parameterisations, seeded transforms, objectives, and the optimisation loop.",
  "labkit.fv", None, [("labkit.fv.param", True), ("labkit.fv.transform", True), ("labkit.fv.objectives", True), ("labkit.fv.render", False), ("labkit.fv.evidence", False)]),
 ("Figures: `labkit.viz`", "One plot style for the whole book, the figures of spikes, curves and learned features, and sliders that become static figures in the built book.",
  "labkit.viz", None, [("labkit.viz.plot", True), ("labkit.viz.learned", True), ("labkit.viz.widgets", False),
   ("labkit.viz.search", True), ("labkit.viz.boxes", True), ("labkit.viz.reconstruction", True)]),
 ("The model catalogue: `labkit.zoo`", "Every network of the course by name, trained once and shared by the labs, or AlexNet with ImageNet weights when they can be had.",
  "labkit.zoo", None, [("labkit.zoo.catalogue", False), ("labkit.zoo.store", False), ("labkit.zoo.alexnet", False),
   ("labkit.zoo.events", True)]),
 ("The book: `labkit.book`", "Numbers computed by a notebook, glued into its prose, and Markdown tables.",
  "labkit.book", None, []),
]
out = ["# API reference", "",
 "The labs call a small package, `labkit`, so that each notebook reads as a lesson rather than as plumbing.",
 "It is laid out in layers, in the order the course uses them; a module imports only from its own layer or",
 "lower ones (the map is in `labkit`'s docstring below; a test enforces it). Each section documents the names a notebook imports",
 "(`from labkit.spiking import LIF`), then the modules they live in. Everything is generated from the",
 "docstrings when the book is built. In Colab or on your own machine, `pip install -e .` from the repository",
 "root installs the same package.", ""]
top_names = {m.strip() for m in sections[0][3].split(",")}
for title, intro, pkg, members, subs in sections:
    out += [f"## {title}", "", intro, ""]
    mod = importlib.import_module(pkg)
    modules = [n for n in getattr(mod, "__all__", []) if isinstance(getattr(mod, n), types.ModuleType)]
    opts = [f"   :members: {members}"] if members else ["   :members:"]
    if modules:
        opts.append(f"   :exclude-members: {', '.join(modules)}")
    out += ["```{eval-rst}", f".. automodule:: {pkg}", *opts, "```", ""]
    exported = ({m.strip() for m in members.split(",")} if members else
                {n for n in getattr(mod, "__all__", []) if not isinstance(getattr(mod, n), types.ModuleType)})
    for sub, _ in subs:
        # the module's own public names; those the package re-exports are documented above
        submodule = importlib.import_module(sub)
        shadowed = sub.rpartition(".")[2] in exported  # the function labkit.fv.render and its module
        own = [n for n in getattr(submodule, "__all__", []) if n not in exported]
        # names documented at the top of the page (labkit.maximise) are not documented again
        own = [n for n in own if not (n in top_names and getattr(submodule, n) is getattr(importlib.import_module("labkit"), n))]
        lines = [f".. automodule:: {sub}"] + (["   :no-index:"] if shadowed else [])
        if own:
            lines += [f"   :members: {', '.join(own)}"]
        out += [f"### `{sub}`", "", "```{eval-rst}", *lines, "```", ""]
Path("book/api.md").write_text("\n".join(out).rstrip() + "\n")
