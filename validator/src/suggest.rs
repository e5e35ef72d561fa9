//! "Did you mean": the closest known name to a misspelt one.

/// The candidate closest to `word`: an exact match ignoring case, else the smallest edit
/// distance within a third of the word's length (at least 1, at most 3).
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if let Some(c) = candidates.iter().find(|c| c.eq_ignore_ascii_case(word)) {
        return Some(c);
    }
    let limit = (word.chars().count() / 3).clamp(1, 3);
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The words of a name, in lower case: split at `-`, `_`, `.`, `/`, spaces and at CamelCase
/// humps (`NamespacedTracingPolicy` → namespaced, tracing, policy; `TPNamespaced` → tp,
/// namespaced; `tracingpolicy` stays one word).
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let hump = c.is_uppercase()
                && prev.is_some_and(|p| {
                    p.is_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_uppercase()
                            && next.is_some_and(|n| n.is_lowercase())
                            // `PIDs`: a plural `s` after an acronym is not a new word.
                            && !(next == Some(&'s')
                                && chars.get(i + 2).is_none_or(|c| !c.is_lowercase())))
                });
            if hump && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            word.extend(c.to_lowercase());
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

/// A word without an English plural ending (`policies` → `policy`, `kprobes` → `kprobe`).
pub fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies").filter(|s| s.len() >= 3) {
        format!("{stem}y")
    } else if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

/// The candidate made of the same words as `written`, in any order, ignoring case, separators
/// and plurals, with a few typos allowed (a third of the length, at most 3): `NamespacedTracingPolicy`
/// and `tracing-policy-namespaced` → `TracingPolicyNamespaced`, `TracingPolicies` →
/// `TracingPolicy`. `written` is given as its words (see [`words`]), already mapped to the
/// candidates' vocabulary by the caller.
pub fn did_you_mean_words<'a>(written: &[String], candidates: &[&'a str]) -> Option<&'a str> {
    let glued: String = written.iter().map(|w| singular(w)).collect();
    if glued.is_empty() {
        return None;
    }
    let limit = (glued.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &'a str)> = None;
    for &c in candidates {
        let cw: Vec<String> = words(c).iter().map(|w| singular(w)).collect();
        if cw.len() > 4 {
            continue;
        }
        for order in permutations(cw.len()) {
            let candidate: String = order.iter().map(|&i| cw[i].as_str()).collect();
            let d = distance(&glued, &candidate);
            if d <= limit && best.is_none_or(|(b, _)| d < b) {
                best = Some((d, c));
            }
        }
    }
    best.map(|(_, c)| c)
}

/// Every order of `0..n` (n is small: at most 4 words).
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for rest in permutations(n - 1) {
        for at in 0..=rest.len() {
            let mut p = rest.clone();
            p.insert(at, n - 1);
            out.push(p);
        }
    }
    out
}

/// Optimal string alignment distance (Levenshtein plus transpositions).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("selector", &["selectors", "args"]),
            Some("selectors")
        );
        assert_eq!(
            did_you_mean("sigkill", &["Sigkill", "Signal"]),
            Some("Sigkill")
        );
        assert_eq!(
            did_you_mean("Prefx", &["Prefix", "Postfix"]),
            Some("Prefix")
        );
        assert_eq!(did_you_mean("zzzz", &["Prefix", "Postfix"]), None);
        assert_eq!(distance("do_mkdirt", "do_mkdirat"), 1);
    }

    #[test]
    fn word_splitting() {
        assert_eq!(
            words("NamespacedTracingPolicy"),
            ["namespaced", "tracing", "policy"]
        );
        assert_eq!(words("TPNamespaced"), ["tp", "namespaced"]);
        assert_eq!(
            words("Tracingpolicy-namespaced"),
            ["tracingpolicy", "namespaced"]
        );
        assert_eq!(words("matchPIDs"), ["match", "pids"]);
        assert_eq!(words(""), Vec::<String>::new());
        assert_eq!(singular("policies"), "policy");
        assert_eq!(singular("kprobes"), "kprobe");
        assert_eq!(singular("class"), "class");
    }

    #[test]
    fn reordered_words() {
        let kinds = ["TracingPolicy", "TracingPolicyNamespaced"];
        let meant = |w: &str| did_you_mean_words(&words(w), &kinds);
        assert_eq!(
            meant("NamespacedTracingPolicy"),
            Some("TracingPolicyNamespaced")
        );
        assert_eq!(
            meant("tracing-policy-namespaced"),
            Some("TracingPolicyNamespaced")
        );
        assert_eq!(
            meant("namespacedtracingpolicy"),
            Some("TracingPolicyNamespaced")
        );
        assert_eq!(meant("TracingPolicies"), Some("TracingPolicy"));
        assert_eq!(meant("Tracingpolicy"), Some("TracingPolicy"));
        assert_eq!(meant("NetworkPolicy"), None);
        assert_eq!(meant(""), None);
    }
}
