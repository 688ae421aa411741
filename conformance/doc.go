// Package conformance holds it4ct's FHIR R4 conformance resources and
// answers questions about them.
//
// The resources (StructureDefinition, CodeSystem, ValueSet, NamingSystem) are
// JSON files under resources/, embedded in the binary. Every project artefact
// has a canonical URL under CanonicalBase and the same business version,
// Version. The three R5 cross-version extensions that the mapping emits keep
// their official HL7 URLs (http://hl7.org/fhir/5.0/StructureDefinition/…); it4ct
// ships a rendering of them so that its conformance set is self-contained.
//
// R4 has no NamingSystem.url nor NamingSystem.version: a NamingSystem carries
// them in the R5 cross-version extensions extension-NamingSystem.url and
// extension-NamingSystem.version, and Lookup finds it both by that canonical
// URL and by the identifier system it defines (its uniqueId of type uri).
//
// The codes of the FHIR core code systems that the profiles bind to
// (research-study-status, research-subject-status, research-study-phase in
// R4; research-study-party-role and research-study-party-org-type in R5) are
// Go data (core.go), so that a validator can check every binding without a
// terminology server.
//
// docs/fhir.md documents every element, extension, code and identifier system.
package conformance
