#!/usr/bin/env bash
# The floor no loader can beat: psql \copy of the columns the analytics read, to /dev/null.
DB=${1:-icrm_bench}; AS_OF=${2:-2024-12-31}
q() { local t0=$(date +%s.%N); psql -h 127.0.0.1 -U postgres -d "$DB" -qc "\\copy ($1) to '/dev/null'"; echo "$(date +%s.%N) - $t0" | bc; }
F1=$(q "select project_id, stage, occurred_on from stage_events where occurred_on <= '$AS_OF'")
F2=$(q "select p.id, p.industry, p.source, p.contact_leader, c.province, p.agreed_investment_yuan from projects p join companies c on c.id = p.company_id")
N1=$(q "select candidate_id, stage, occurred_on from incubation_events where occurred_on <= '$AS_OF'")
N2=$(q "select id, cohort_year from incubation_candidates")
N3=$(q "select visit_date, headcount from visits where visit_date <= '$AS_OF'")
N4=$(q "select start_date, kind from outreach where start_date <= '$AS_OF'")
N5=$(q "select arrived_on, amount_yuan from fund_arrivals where arrived_on <= '$AS_OF'")
N6=$(q "select category, opened_on, due_date, resolved_on from blockers where opened_on <= '$AS_OF'")
echo "funnel tables (stage_events + projects⋈companies): $(echo "$F1 + $F2" | bc) s"
echo "nightly tables (all of the above + incubation, visits, outreach, funds, blockers): $(echo "$F1 + $F2 + $N1 + $N2 + $N3 + $N4 + $N5 + $N6" | bc) s"
echo "  visits alone: $N3 s; blockers: $N6 s; stage_events: $F1 s"
