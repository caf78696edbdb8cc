// Package reportgen renders the reports of a conformance run from its saved
// results alone: the results file (package results) and the upstream
// ConformanceReport YAML saved verbatim beside it. It needs no cluster and no
// suite code, so a run can be re-rendered offline, later.
//
// From one run it renders, into an output folder:
//   - <channel>-<version>-<mode>-report.yaml: the upstream report, byte for
//     byte as the upstream suite wrote it;
//   - <channel>-<version>-<mode>-semantics-report.yaml: our report in the
//     same schema, with the GAMMA semantics profile(s) and the upstream mesh
//     tests upstream counts in no profile;
//   - junit.xml: one testsuite per suite, one testcase per test or spec;
//   - report.html: a self-contained page (inline CSS, nothing external);
//   - badges/<profile>.svg: one badge per profile, made offline.
package reportgen
