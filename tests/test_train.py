import math

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import labkit
from labkit.train import History, accuracy, evaluate, fit, load_checkpoint, save_checkpoint


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(96, 5, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return TensorDataset(x, y)


def _setup():
    labkit.seed_everything(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Dropout(0.2), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    # shuffling and dropout both draw from torch's global generator: resuming must restore it
    loader = DataLoader(_problem(), batch_size=16, shuffle=True)
    return model, opt, sched, loader


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_fit_learns_and_records_history():
    model, opt, sched, loader = _setup()
    h = fit(model, loader, opt, epochs=10, val_loader=loader, val_data="toy validation", device="cpu")
    assert h.epoch == list(range(1, 11))
    assert len(h.train["loss"]) == len(h.val["acc"]) == len(h.seconds) == 10
    assert h.train["loss"][-1] < h.train["loss"][0]
    assert h.best("acc") > 0.9  # a linearly separable problem
    assert h.val_data == "toy validation"


def test_resume_gives_same_weights_as_uninterrupted_run(tmp_path):
    model, opt, sched, loader = _setup()
    full = fit(model, loader, opt, epochs=4, val_loader=loader, scheduler=sched, device="cpu")
    reference = _weights(model)

    ckpt = tmp_path / "run.pt"
    model, opt, sched, loader = _setup()
    fit(model, loader, opt, epochs=2, val_loader=loader, scheduler=sched, device="cpu", checkpoint=ckpt)
    assert not torch.equal(_weights(model), reference)
    torch.manual_seed(1234)  # the restart happens in a fresh process with other random state
    model, opt, sched, loader = _setup()
    torch.manual_seed(999)
    resumed = fit(model, loader, opt, epochs=4, val_loader=loader, scheduler=sched, device="cpu",
                  checkpoint=ckpt, resume=True)
    assert torch.equal(_weights(model), reference)
    assert resumed.as_dict() | {"seconds": None} == full.as_dict() | {"seconds": None}


def test_interrupted_run_keeps_last_checkpoint_and_resumes(tmp_path):
    model, opt, sched, loader = _setup()
    fit(model, loader, opt, epochs=3, scheduler=sched, device="cpu")
    reference = _weights(model)

    ckpt = tmp_path / "run.pt"
    model, opt, sched, loader = _setup()
    calls = {"n": 0}

    def flaky_loss(scores, target):
        calls["n"] += 1
        if calls["n"] == 6 * 2 + 3:  # in the third epoch (6 batches per epoch)
            raise KeyboardInterrupt("disconnected")
        return torch.nn.functional.cross_entropy(scores, target)

    with pytest.raises(KeyboardInterrupt):
        fit(model, loader, opt, epochs=3, loss_fn=flaky_loss, scheduler=sched, device="cpu", checkpoint=ckpt)
    assert load_checkpoint(ckpt)["epoch"] == 2
    assert not list(tmp_path.glob("*.tmp"))
    model, opt, sched, loader = _setup()
    # the same loss function (a different one would be a changed recipe); it raises only once
    fit(model, loader, opt, epochs=3, loss_fn=flaky_loss, scheduler=sched, device="cpu", checkpoint=ckpt, resume=True)
    assert torch.equal(_weights(model), reference)


def test_finished_run_resumes_instantly(tmp_path):
    ckpt = tmp_path / "run.pt"
    model, opt, sched, loader = _setup()
    first = fit(model, loader, opt, epochs=2, device="cpu", checkpoint=ckpt)
    model2, opt2, _, _ = _setup()
    again = fit(model2, loader, opt2, epochs=2, device="cpu", checkpoint=ckpt, resume=True)
    assert again.train["loss"] == first.train["loss"]
    assert torch.equal(_weights(model2), _weights(model))


def test_existing_checkpoint_is_never_overwritten_without_resume(tmp_path):
    ckpt = tmp_path / "run.pt"
    model, opt, _, loader = _setup()
    fit(model, loader, opt, epochs=1, device="cpu", checkpoint=ckpt)
    before = ckpt.read_bytes()
    with pytest.raises(FileExistsError, match="resume=True"):
        fit(model, loader, opt, epochs=1, device="cpu", checkpoint=ckpt)
    assert ckpt.read_bytes() == before


def test_corrupt_checkpoint_error_names_file(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="bad.pt.*Delete the file"):
        load_checkpoint(bad)


def test_save_checkpoint_round_trip(tmp_path):
    path = save_checkpoint(tmp_path / "sub" / "c.pt", {"a": torch.arange(3)})
    assert torch.equal(load_checkpoint(path)["a"], torch.arange(3))


def test_evaluate_accuracy_and_empty_loader():
    model = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([0, 1, 1, 1])
    result = evaluate(model, DataLoader(TensorDataset(x, y), batch_size=3))
    assert result["acc"] == pytest.approx(0.75) and result["loss"] > 0
    assert set(result) == {"loss", "acc"}
    with pytest.raises(ValueError, match="empty"):
        evaluate(model, [])


def test_epochs_validated():
    model, opt, _, loader = _setup()
    with pytest.raises(ValueError, match="epochs"):
        fit(model, loader, opt, epochs=0)


def test_history_best_without_validation():
    assert math.isnan(History().best("acc"))


def test_fit_regression_has_no_accuracy_unless_asked():
    labkit.seed_everything(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    model = torch.nn.Linear(3, 1)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    h = fit(model, loader, torch.optim.Adam(model.parameters(), lr=0.05), epochs=30,
            loss_fn=torch.nn.functional.mse_loss, val_loader=loader, device="cpu")
    assert h.val["loss"][-1] < 0.05 * h.val["loss"][0]
    assert set(h.train) == set(h.val) == {"loss"}  # MSE: no accuracy by default
    with pytest.raises(ValueError, match="integer class targets"):
        fit(model, loader, torch.optim.SGD(model.parameters(), lr=0.01), epochs=1,
            loss_fn=torch.nn.functional.mse_loss, metrics={"acc": accuracy}, device="cpu")


def test_fit_takes_any_loss_metrics_and_tuple_targets():
    """A two-headed model (class + box) trains through fit with a combined loss and its own metrics."""
    labkit.seed_everything(0)
    x = torch.randn(48, 4)
    targets = (x[:, 0] > 0).long(), x[:, :2].clone()

    class TwoHeads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.cls, self.box = torch.nn.Linear(4, 2), torch.nn.Linear(4, 2)

        def forward(self, inputs):
            return self.cls(inputs), self.box(inputs)

    def loss_fn(out, tgt):
        return torch.nn.functional.cross_entropy(out[0], tgt[0]) + torch.nn.functional.smooth_l1_loss(out[1], tgt[1])

    metrics = {"acc": lambda out, tgt: accuracy(out[0], tgt[0]),
               "box_l1": lambda out, tgt: (out[1] - tgt[1]).abs().mean().item()}
    loader = DataLoader(TensorDataset(x, *targets), batch_size=16, collate_fn=lambda rows: (
        torch.stack([r[0] for r in rows]), (torch.stack([r[1] for r in rows]), torch.stack([r[2] for r in rows]))))
    model = TwoHeads()
    h = fit(model, loader, torch.optim.Adam(model.parameters(), lr=0.05), epochs=15, loss_fn=loss_fn,
            metrics=metrics, val_loader=loader, device="cpu")
    assert set(h.train) == set(h.val) == {"loss", "acc", "box_l1"}
    assert h.val["box_l1"][-1] < 0.5 * h.val["box_l1"][0] and h.val["acc"][-1] > 0.9
    assert evaluate(model, loader, loss_fn, metrics)["box_l1"] == pytest.approx(h.val["box_l1"][-1])


def test_train_model_checkpoints_and_reloads(tmp_path):
    from labkit.data import ImageSet, split_validation
    from labkit.train import Recipe, train_model

    g = torch.Generator().manual_seed(0)
    images = torch.rand(48, 1, 4, 4, generator=g)
    labels = (images.mean((1, 2, 3)) > 0.5).long()
    train, val = split_validation(ImageSet(images, labels, ["lo", "hi"], "toy", "train", "toy data"), 8)

    def build():
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))

    for schedule in ("onecycle", "cosine"):
        recipe = Recipe(epochs=3, batch_size=8, lr=1e-2, schedule=schedule, label_smoothing=0.1)
        path = tmp_path / f"{schedule}.pt"
        model, first = train_model(build, train, val, recipe, seed=0, device="cpu", checkpoint=path)
        assert len(first.val["acc"]) == 3 and path.exists()
        assert first.val_data == val.title and "validation" in first.val_data
        model2, again = train_model(build, train, val, recipe, seed=0, device="cpu", checkpoint=path)
        assert again.train["loss"] == first.train["loss"]  # reloaded, not retrained
        assert torch.equal(_weights(model2), _weights(model))
    _, other_seed = train_model(build, train, val, recipe, seed=1, device="cpu")
    assert other_seed.train["loss"] != first.train["loss"]  # another seed: other weights and data order
    with pytest.raises(ValueError, match="schedule"):
        Recipe(epochs=1, schedule="step")
