"""Adapters that put snnq's neurons inside other frameworks; each module imports its framework on use."""
