//! Pairing parallel calls with expected calls by a maximum bipartite matching, so that a correct answer is never
//! rejected because of call order (BFCL pairs greedily, first match first).

/// Maximum bipartite matching (Kuhn's augmenting paths): for each left vertex
/// (expected call) the index of its right vertex (actual call), if any.
pub(super) fn max_matching(ok: &[Vec<bool>], n_right: usize) -> Vec<Option<usize>> {
    fn augment(
        i: usize,
        ok: &[Vec<bool>],
        seen: &mut [bool],
        right_of: &mut [Option<usize>],
    ) -> bool {
        for j in 0..seen.len() {
            if ok[i][j] && !seen[j] {
                seen[j] = true;
                let free = match right_of[j] {
                    None => true,
                    Some(other) => augment(other, ok, seen, right_of),
                };
                if free {
                    right_of[j] = Some(i);
                    return true;
                }
            }
        }
        false
    }
    let mut right_of: Vec<Option<usize>> = vec![None; n_right];
    for i in 0..ok.len() {
        let mut seen = vec![false; n_right];
        augment(i, ok, &mut seen, &mut right_of);
    }
    let mut left = vec![None; ok.len()];
    for (j, i) in right_of.iter().enumerate() {
        if let Some(i) = i {
            left[*i] = Some(j);
        }
    }
    left
}
