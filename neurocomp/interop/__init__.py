"""Interoperability with other tools: NIR import and export (optional extra ``neurocomp[nir]``)."""
