//! Names: the cultures people are drawn from, their given and family names, slugs.

use crate::*;

pub(crate) struct Culture {
    pub(crate) weight: u64,
    /// Identity.homePrimaryLanguage (ISO 639-2) and Contact.communicationLanguage.
    pub(crate) lang: &'static str,
    pub(crate) language: &'static str,
    /// Federal race code (1 Hispanic, 3 Asian, 4 Black, 6 White).
    pub(crate) race: u8,
    /// Per mille of students born abroad, and where.
    pub(crate) abroad: u64,
    pub(crate) country: &'static str,
    /// Family names take -а for women (Russian).
    pub(crate) gendered: bool,
    pub(crate) female: &'static [&'static str],
    pub(crate) male: &'static [&'static str],
    pub(crate) last: &'static [&'static str],
}

pub(crate) const EN: usize = 0;
pub(crate) const IE: usize = 1;
pub(crate) const ES: usize = 2;
pub(crate) const VI: usize = 3;
pub(crate) const ZH: usize = 4;
pub(crate) const RU: usize = 5;
pub(crate) const FR: usize = 6;
pub(crate) const DE: usize = 7;
pub(crate) const WA: usize = 8;
pub(crate) const AA: usize = 9;
pub(crate) const IN: usize = 10;
pub(crate) const AR: usize = 11;
pub(crate) const JP: usize = 12;

pub(crate) const fn culture(
    weight: u64,
    (lang, language): (&'static str, &'static str),
    race: u8,
    (abroad, country): (u64, &'static str),
    female: &'static [&'static str],
    male: &'static [&'static str],
    last: &'static [&'static str],
) -> Culture {
    Culture { weight, lang, language, race, abroad, country, gendered: false, female, male, last }
}

pub(crate) static CULTURES: [Culture; 13] = [
    culture(
        45,
        ("eng", "English"),
        6,
        (5, "CA"),
        &[
            "Emma",
            "Olivia",
            "Ava",
            "Sophia",
            "Isabella",
            "Mia",
            "Charlotte",
            "Amelia",
            "Harper",
            "Evelyn",
            "Abigail",
            "Emily",
            "Ella",
            "Elizabeth",
            "Avery",
            "Scarlett",
            "Grace",
            "Chloe",
            "Victoria",
            "Riley",
            "Mary-Kate",
            "Zoë",
            "Renée",
            "Nora",
            "Hazel",
            "Lily",
        ],
        &[
            "Liam",
            "Noah",
            "Oliver",
            "Elijah",
            "James",
            "William",
            "Benjamin",
            "Lucas",
            "Henry",
            "Alexander",
            "Mason",
            "Michael",
            "Ethan",
            "Daniel",
            "Jacob",
            "Logan",
            "Jackson",
            "Levi",
            "Jack",
            "Owen",
            "Wyatt",
            "Caleb",
            "Isaac",
            "Ryan",
            "Jean-Luc",
            "Gabriel",
        ],
        &[
            "Smith",
            "Johnson",
            "Williams",
            "Brown",
            "Jones",
            "Miller",
            "Davis",
            "Wilson",
            "Anderson",
            "Taylor",
            "Thomas",
            "Moore",
            "Martin",
            "Thompson",
            "White",
            "Harris",
            "Clark",
            "Lewis",
            "Walker",
            "Young",
            "Allen",
            "King",
            "Wright",
            "Scott",
            "Hill",
            "Green",
            "Adams",
            "Baker",
            "Nelson",
            "Carter",
            "Mitchell",
            "Roberts",
            "Turner",
            "Phillips",
            "Campbell",
            "Parker",
            "Evans",
            "Edwards",
            "Collins",
            "Stewart",
            "Morris",
            "Rogers",
            "Reed",
            "Cook",
            "Morgan",
            "Bell",
            "Murphy",
            "Bailey",
            "Cooper",
            "Cox",
            "Howard",
            "Ward",
            "Adams-Baker",
            "Smith-Jones",
            "St. John",
            "van der Berg",
            "McAllister",
        ],
    ),
    culture(
        5,
        ("eng", "English"),
        6,
        (30, "IE"),
        &["Siobhán", "Saoirse", "Aoife", "Niamh", "Caoimhe", "Maeve", "Róisín"],
        &["Seán", "Pádraig", "Ciarán", "Eoin", "Cillian", "Darragh"],
        &["O'Brien", "O'Malley", "O'Sullivan", "O'Connor", "Ó Briain", "McCarthy", "Kelly", "D'Arcy"],
    ),
    culture(
        16,
        ("spa", "Spanish"),
        1,
        (150, "MX"),
        &["Sofía", "María José", "Camila", "Valentina", "Lucía", "Ximena", "Guadalupe", "Renata"],
        &["José", "Mateo", "Santiago", "Nicolás", "Sebastián", "Diego", "Tomás", "Juan Carlos"],
        &[
            "García",
            "Hernández-López",
            "Martínez",
            "Rodríguez",
            "López",
            "González",
            "Pérez",
            "Sánchez",
            "Ramírez",
            "Núñez",
            "Fernández de la Cruz",
            "Peña",
            "Muñoz",
            "Ortiz",
            "Reyes",
            "Ibáñez",
        ],
    ),
    culture(
        3,
        ("vie", "Vietnamese"),
        3,
        (200, "VN"),
        &["Thảo", "Linh", "Ngọc Anh", "Phương", "Hương"],
        &["Bảo", "Minh", "Đức", "Khoa", "Huy"],
        &["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng"],
    ),
    culture(
        3,
        ("chi", "Chinese"),
        3,
        (300, "CN"),
        &["丽", "静", "婷", "雪梅", "欣怡"],
        &["伟", "小明", "浩然", "子轩", "俊杰"],
        &["王", "李", "张", "刘", "陈", "欧阳"],
    ),
    Culture {
        gendered: true,
        ..culture(
            2,
            ("rus", "Russian"),
            6,
            (300, "RU"),
            &["Анна", "Ольга", "Наталья", "Екатерина", "Мария"],
            &["Дмитрий", "Алексей", "Иван", "Сергей", "Михаил"],
            &["Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Новиков"],
        )
    },
    culture(
        2,
        ("fre", "French"),
        6,
        (100, "FR"),
        &["Léa", "Chloé", "Manon", "Élodie", "Camille", "Inès"],
        &["Théo", "Hugo", "Noé", "François", "Émile", "Jérôme"],
        &["Dubois", "Lefèvre", "Marchand", "Girard", "Bonnet", "Faure", "Mercier", "Lemaître"],
    ),
    culture(
        2,
        ("ger", "German"),
        6,
        (80, "DE"),
        &["Katharina", "Jördis", "Lena", "Anneliese", "Zoë"],
        &["Jürgen", "Björn", "Lukas", "Jonas", "Günther"],
        &["Müller", "Schmidt", "Schäfer", "Groß", "Lindqvist", "Becker", "Fischer", "Weiß"],
    ),
    culture(
        3,
        ("eng", "English"),
        4,
        (200, "NG"),
        &["Ngozi", "Amara", "Chiamaka", "Adaeze", "Folake"],
        &["Chinedu", "Emeka", "Oluwaseun", "Kwame", "Tobenna"],
        &["Okafor", "Nwosu", "Adeyemi", "Okonkwo", "Mensah", "Adébáyọ̀"],
    ),
    culture(
        10,
        ("eng", "English"),
        4,
        (0, "US"),
        &["Aaliyah", "Keisha", "Imani", "Destiny", "Jasmine"],
        &["Jaylen", "DeShawn", "Malik", "Darius", "Andre"],
        &["Washington", "Jefferson", "Robinson", "Jackson", "Harris", "Johnson", "Coleman"],
    ),
    culture(
        4,
        ("hin", "Hindi"),
        3,
        (250, "IN"),
        &["Priya", "Ananya", "Diya", "Aadhya", "Saanvi"],
        &["Aarav", "Vihaan", "Arjun", "Rohan", "Krishna"],
        &["Patel", "Sharma", "Raman", "Gupta", "Iyer", "Reddy"],
    ),
    culture(
        3,
        ("ara", "Arabic"),
        6,
        (300, "EG"),
        &["Fatima", "Layla", "Mariam", "Noor", "Yasmin"],
        &["Omar", "Yusuf", "Karim", "Ahmed", "Tariq"],
        &["Al-Sayed", "Haddad", "Khalil", "El-Amin", "Nasser"],
    ),
    culture(
        2,
        ("jpn", "Japanese"),
        3,
        (150, "JP"),
        &["Yuki", "Sakura", "Aiko", "Hana"],
        &["Haruto", "Ren", "Sota", "Yuto"],
        &["Tanaka", "Suzuki", "Takahashi", "Watanabe"],
    ),
];

pub(crate) fn pick_culture(r: &mut Rng) -> usize {
    let total: u64 = CULTURES.iter().map(|c| c.weight).sum();
    let mut x = r.below(total);
    for (i, c) in CULTURES.iter().enumerate() {
        if x < c.weight {
            return i;
        }
        x -= c.weight;
    }
    EN
}

/// The family name as a person of this gender carries it.
pub(crate) fn gendered_last(culture: usize, last: &'static str, gender: u8) -> Cow<'static, str> {
    if CULTURES[culture].gendered && gender == b'F' {
        Cow::Owned(format!("{last}а"))
    } else {
        Cow::Borrowed(last)
    }
}

/// Letters of `s` as ASCII for an e-mail or login: lower case, accents removed, other scripts
/// and punctuation dropped (hyphens kept).
pub(crate) fn slug(s: &str) -> String {
    const FOLD: [(&str, &str); 17] = [
        ("a", "àáâãäåāăąạảấầẩẫậắằẳẵặ"),
        ("ae", "æ"),
        ("c", "çćč"),
        ("d", "đď"),
        ("e", "èéêëēėęěẹẻẽếềểễệ"),
        ("g", "ğ"),
        ("i", "ìíîïīįịỉĩ"),
        ("l", "ł"),
        ("n", "ñńň"),
        ("o", "òóôõöøōőơọỏốồổỗộớờởỡợ"),
        ("oe", "œ"),
        ("r", "ř"),
        ("s", "śšș"),
        ("ss", "ß"),
        ("t", "ťț"),
        ("u", "ùúûüūůűųưụủứừửữự"),
        ("y", "ýÿỳỵỷỹ"),
    ];
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '-' {
            out.push(c);
        } else if let Some((to, _)) = FOLD.iter().find(|(_, from)| from.contains(c)) {
            out.push_str(to);
        }
    }
    out
}
