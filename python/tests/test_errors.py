"""Every failing Tier call raises tier.TierError with Tier's own message; wrong types and sizes
raise TypeError / ValueError before reaching Tier; none of it can crash the interpreter."""

import pytest

import tier
from conftest import MiB


def test_bad_policy_names_the_column(rt):
    with pytest.raises(tier.TierError) as e:
        rt.alloc(4096, "bind=tier:x")
    assert isinstance(e.value, RuntimeError)
    assert e.value.status == tier.Status.EINVAL and e.value.status_name == "EINVAL"
    assert str(e.value).startswith("invalid argument: ")
    assert "column 11" in str(e.value) and "column 11" in e.value.detail
    with pytest.raises(tier.TierError, match="policy"):
        rt.parse_policy("sideways=hbm")


def test_full_tier_is_enomem(rt):
    with pytest.raises(tier.TierError) as e:
        rt.alloc(1 << 40, "bind=hbm")
    assert e.value.status == tier.Status.ENOMEM


def test_unknown_node_and_topology():
    rt = tier.Runtime("default")
    with pytest.raises(tier.TierError) as e:
        rt.node(99)
    assert e.value.status == tier.Status.ENODEV
    with pytest.raises(tier.TierError) as e:
        rt.node_stats(99)
    with pytest.raises(tier.TierError) as e:
        tier.Runtime("/no/such/topology.toml")
    assert e.value.status in (tier.Status.ETOPOLOGY, tier.Status.ECONFIG, tier.Status.EOS)
    assert "/no/such/topology.toml" in str(e.value)


def test_wrong_types_and_sizes(rt):
    with pytest.raises(ValueError, match="size must be >= 0"):
        rt.alloc(-1)
    with pytest.raises(TypeError):
        rt.alloc("big")
    with pytest.raises(TypeError):
        rt.alloc(1.5)
    with pytest.raises(TypeError):
        rt.alloc(64, policy=3)
    with pytest.raises(TypeError, match="needs a size"):
        rt.where(0x1000)
    with pytest.raises(TypeError, match="buffer protocol"):
        rt.touch("not memory")
    with pytest.raises(TypeError):
        rt.touch(True, 4)
    with pytest.raises(ValueError, match="exceeds"):
        rt.where(b"abc", 4)
    with pytest.raises(ValueError):
        rt.set_capacity(0, -5)
    with pytest.raises(ValueError):
        rt.register(rt.alloc(2 * MiB), group="halves")
    with pytest.raises(tier.TierError, match="policy"):
        rt.set_policy("random")
    with pytest.raises(TypeError):
        tier.Runtime(topology=5)


def test_bad_alignment_is_tier_einval(rt):
    with pytest.raises(tier.TierError) as e:
        rt.alloc(64, alignment=3)
    assert e.value.status == tier.Status.EINVAL


def test_agent_options_are_checked(rt):
    with pytest.raises(tier.TierError) as e:
        rt.start_agent(half_life_epochs=-1.0)
    assert e.value.status == tier.Status.ECONFIG
    rt.start_agent(period_ms=50)
    with pytest.raises(tier.TierError) as e:
        rt.start_agent()
    assert e.value.status == tier.Status.EBUSY
    rt.stop_agent()


def test_strerror():
    assert tier.strerror(tier.Status.ENOMEM)
    assert tier.Status.OK == 0
