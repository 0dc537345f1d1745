SELECT p.row_no, p.code, p.m2, p.next_code, p.next_m2
FROM place p
WHERE p.next_m2 >= 0.9 * p.m2
ORDER BY p.row_no
