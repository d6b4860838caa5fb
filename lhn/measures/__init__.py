"""Co-owned outcome measures: definitions, site data, SPC charts, PDSA cycles, FHIR in and out."""
