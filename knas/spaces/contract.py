"""The network contract: what a space's networks expose for the proxies to read, by name.

Every network maps a batch to logits (``net(x)``) and carries ``net.arch`` and
``net.num_classes``. Beyond that, a proxy may need one of these capabilities; its catalogue entry
says which (``ProxyInfo.requires``), a space declares the ones its networks offer
(``SearchSpace.capabilities``) so a search that cannot work is refused before any work, and
``capabilities_of`` finds them on any ``nn.Module`` (``knas.score_model``). Two requirements are
checked while a proxy runs instead, since only the forward pass shows them: MGM's exact one-pass
form needs every BatchNorm to see a spatial or sequence axis (``knas.proxies._grads``), and the
weight-saliency proxies' refusal of a network with trainable weight matrices they do not score
is declared (``WEIGHT_LAYERS``) and checked again while they run. Torch-free at import.
"""
from __future__ import annotations

BLOCKS = "blocks"
PRE_POOL = "pre_pool"
THIN_CELL = "thin_cell"
RELU = "relu"
CONTINUOUS_INPUT = "continuous_input"
SIZE_PRIOR = "size_prior"
WEIGHT_LAYERS = "weight_layers"

# capability -> what the network offers, for error messages ("it needs ...")
DESCRIPTIONS = {
    BLOCKS: "its blocks in order (net.stem, then the modules of net.blocks, each feature to feature)",
    PRE_POOL: "its feature map before global pooling (net.pre_pool(x))",
    THIN_CELL: "its cell alone with one channel (net.thin_cell())",
    RELU: "ReLU units (nn.ReLU modules) whose on/off patterns it counts",
    CONTINUOUS_INPUT: "a continuous input (pixels or embeddings, not token ids) to take gradients "
                      "with respect to and to replace by synthetic inputs",
    SIZE_PRIOR: "the parameter count its size prior is centred on (net.size_prior())",
    WEIGHT_LAYERS: "trained weight matrices in convolution, linear and attention layers only "
                   "(no embedding table), the weights it scores",
}
ALL = frozenset(DESCRIPTIONS)


def capabilities_of(net) -> frozenset:
    """The capabilities an ``nn.Module`` offers, found on it."""
    from torch import nn

    found = set()
    if hasattr(net, "stem") and hasattr(net, "blocks"):
        found.add(BLOCKS)
    for name, capability in (("pre_pool", PRE_POOL), ("thin_cell", THIN_CELL),
                             ("size_prior", SIZE_PRIOR)):
        if callable(getattr(net, name, None)):
            found.add(capability)
    if any(isinstance(m, nn.ReLU) for m in net.modules()):
        found.add(RELU)
    if getattr(net, "input_kind", "continuous") != "tokens":
        found.add(CONTINUOUS_INPUT)
    layers = (nn.modules.conv._ConvNd, nn.Linear, nn.MultiheadAttention)
    covered = {id(p) for m in net.modules() if isinstance(m, layers)
               for p in m.parameters(recurse=False)}
    if all(id(p) in covered for p in net.parameters() if p.requires_grad and p.dim() >= 2):
        found.add(WEIGHT_LAYERS)
    return frozenset(found)
