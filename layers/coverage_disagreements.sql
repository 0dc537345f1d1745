-- Where an operator's claim and its measured speeds disagree, per village of the scope (after
-- coverage_speed_tests.sql).
SELECT v.code, v.name, v.commune_code, t.claimed,
       count(*)::int AS tests,
       (count(*) FILTER (WHERE t.meets))::int AS tests_meeting,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.down_mbps) AS median_down_mbps,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.up_mbps) AS median_up_mbps
FROM tests t JOIN in_scope v ON v.code = t.village_code
GROUP BY v.code, v.name, v.commune_code, t.claimed
ORDER BY v.code, t.claimed DESC
