import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engine.gpu import TorchCompositor, resolve_device  # noqa: E402
from engine.render import Compositor  # noqa: E402
from precompute.errors import ConfigError  # noqa: E402


@pytest.mark.parametrize("blend", [[(1, 1.0)], [(0, 0.375), (2, 0.625)], [(0, 0.2), (1, 0.3), (3, 0.5)]])
def test_torch_cpu_and_cpu_paths_agree(blend):
    frames = np.random.default_rng(1).integers(0, 256, (4, 36, 48, 3), dtype=np.uint8)
    cpu = Compositor(frames).compose(blend).astype(int)
    on_torch = TorchCompositor(frames, device="cpu").compose(blend).astype(int)
    assert on_torch.shape == cpu.shape
    assert np.abs(on_torch - cpu).max() <= 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the fallback on a machine without CUDA")
def test_fallback_is_said_and_cuda_refused(capsys):
    import engine.gpu

    engine.gpu._said.clear()
    assert resolve_device("auto") == "cpu"
    assert "no CUDA" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="cuda"):
        resolve_device("cuda")
    with pytest.raises(ConfigError):
        resolve_device("tpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_and_cpu_paths_agree():
    frames = np.random.default_rng(2).integers(0, 256, (4, 72, 128, 3), dtype=np.uint8)
    blend = [(0, 0.125), (1, 0.25), (2, 0.625)]
    cpu = Compositor(frames).compose(blend).astype(int)
    cuda = TorchCompositor(frames, device="cuda").compose(blend).astype(int)
    assert np.abs(cuda - cpu).max() <= 1
