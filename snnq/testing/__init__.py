"""Contract checks that every registered plugin must pass; plug-in authors can run them on their own plugins."""

from snnq.testing.quantizers import check_exactness, check_gradients, check_quantizer, check_state_dict

__all__ = ["check_exactness", "check_gradients", "check_quantizer", "check_state_dict"]
