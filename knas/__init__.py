"""KNAS Studio: training-free neural architecture search on any cell space (NAS-Bench-201 built
in, or one of your own: ``knas.spaces``).

``score_model`` scores any PyTorch model on a batch with the Studio's proxies, as zero-cost-nas's
``find_measures`` does for its own: each proxy as its paper and official code define it, a pass
several proxies share run once, and a proxy the model cannot support refused with the reason.
"""
from __future__ import annotations

__version__ = "0.2.0"


def score_model(model, batch, proxies=("mgm",), params: str = "all") -> dict[str, float]:
    """Scores of ``model`` on ``batch`` = (inputs, integer class labels), one float per proxy
    name (``knas.proxies.CATALOG``; all of them are bigger-is-better except those whose entry
    says otherwise). ``params`` selects the weights MGM and the Gram statistics use (``all`` or
    ``first:L:m``).

    Everything is checked before any work: unknown proxies, a batch that is not two tensors of
    the same length with at least two samples, and proxies that need what the model does not
    offer (``knas.spaces.contract``: blocks, pre-pooling features, ReLUs, ...) raise a
    ``KnasError`` naming the reason. The model is scored where it is (its device) in training
    mode; proxies that re-draw weights (SynFlow, Zen, AZ-NAS) work on copies, the others leave
    their gradients on its parameters.
    """
    import torch

    from knas import proxies as catalogue
    from knas.errors import KnasError
    from knas.search.specs import ParamSelection

    names = [proxies] if isinstance(proxies, str) else list(proxies)
    if not names:
        raise KnasError("name at least one proxy")
    for name in names:
        catalogue.info(name)
    ParamSelection.parse(params)
    if not isinstance(batch, (tuple, list)) or len(batch) != 2 \
            or not all(torch.is_tensor(t) for t in batch):
        raise KnasError("batch must be (inputs, labels), two tensors")
    x, y = batch
    if len(x) != len(y) or len(x) < 2:
        raise KnasError(f"batch has {len(x)} inputs and {len(y)} labels; give the same number, "
                        "at least 2")
    if y.dtype not in (torch.int64, torch.int32) or y.dim() != 1:
        raise KnasError("labels must be a 1-D tensor of integer class indices")
    if not isinstance(model, torch.nn.Module):
        raise KnasError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for name in names:
        catalogue.check_applicable(name, model)
    values, passes = {}, {}
    for name in names:
        meta = catalogue.info(name)
        if meta.shared_pass not in passes:
            options = {"params": params} if "params" in meta.options else {}
            if meta.partial:
                options["wanted"] = tuple(n for n in names
                                          if catalogue.info(n).shared_pass == meta.shared_pass)
            passes[meta.shared_pass] = catalogue.shared_function(name)(model, x, y, **options)
        value = passes[meta.shared_pass]
        values[name] = float(value[name] if isinstance(value, dict) else value)
    return values
