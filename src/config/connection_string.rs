//! ODBC connection-string text: `key=value;key={va;lue}` split into pairs.

/// Splits `key=value;key={va;lue}` into pairs, honouring ODBC's `{...}` quoting.
pub fn connection_string_pairs(cs: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut chars = cs.chars().peekable();
    loop {
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            key.push(c);
        }
        let mut value = String::new();
        if chars.peek() == Some(&'{') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '}' {
                    if chars.peek() == Some(&'}') {
                        chars.next();
                        value.push('}');
                        continue;
                    }
                    break;
                }
                value.push(c);
            }
            // Skip to the separator.
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
            }
        } else {
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
                value.push(c);
            }
        }
        let key = key.trim().to_string();
        if !key.is_empty() {
            pairs.push((key, value));
        }
        if chars.peek().is_none() {
            break;
        }
    }
    pairs
}
