"""Shared pytest fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest


def _sequence_globals() -> tuple[Any, ...]:
    from sequence.entanglement_management.generation import (
        EntanglementGenerationA,
        EntanglementGenerationB,
    )
    from sequence.kernel.quantum_manager import QuantumManager

    return QuantumManager, EntanglementGenerationA, EntanglementGenerationB


@pytest.fixture(autouse=True)
def _restore_sequence_globals() -> Iterator[None]:
    """Restore SeQUeNCe's process-global state (formalism, generation type) after each test.

    SeQUeNCe keeps the quantum-manager formalism and the entanglement-generation protocol
    type on classes, so one test's timeline would leak into the next. Nothing is imported
    unless SeQUeNCe already is (the analysis-core tests never import it); if a test
    imported it, the library defaults (ket vectors, Barrett-Kok) are restored.
    """
    saved = None
    if "sequence" in sys.modules:
        qm, gen_a, gen_b = _sequence_globals()
        saved = (qm._global_formalism, gen_a._global_type, gen_b._global_type)
    try:
        yield
    finally:
        if "sequence" in sys.modules:
            from sequence.constants import BARRET_KOK, KET_VECTOR_FORMALISM

            qm, gen_a, gen_b = _sequence_globals()
            formalism, type_a, type_b = saved or (KET_VECTOR_FORMALISM, BARRET_KOK, BARRET_KOK)
            qm._global_formalism = formalism
            gen_a._global_type = type_a
            gen_b._global_type = type_b
