// Scenario: scenario files (strict parser), the facts an observation yields, expectations and
// their judge, perturbations of a domain definition, and the scenario report. Pure: no libvirt,
// no libguestfs calls; the runner that boots copies is VMSerialKit's (ScenarioRunner).
