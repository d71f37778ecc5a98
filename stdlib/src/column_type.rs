//! The column types of the language: the one list the checker, the plan and the step
//! implementations share (the latter add how each is stored, in `exec::table`).

/// A column type of a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ColumnType {
    /// 64-bit integers.
    Int,
    /// 64-bit floats.
    Float,
    /// Booleans.
    Bool,
    /// Free text.
    String,
    /// One of a set of levels, stored as text.
    Category,
    /// A calendar date.
    Date,
    /// A date and time, microseconds, without time zone.
    Datetime,
}

impl ColumnType {
    /// Every column type, in the order the language documents them.
    pub const ALL: [ColumnType; 7] = [
        ColumnType::Int,
        ColumnType::Float,
        ColumnType::Bool,
        ColumnType::String,
        ColumnType::Category,
        ColumnType::Date,
        ColumnType::Datetime,
    ];

    /// The type named `name` in a schema (`int`, `float`, …).
    pub fn parse(name: &str) -> Option<ColumnType> {
        ColumnType::ALL.into_iter().find(|ty| ty.name() == name)
    }

    /// Its name in a schema.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Bool => "bool",
            ColumnType::String => "string",
            ColumnType::Category => "category",
            ColumnType::Date => "date",
            ColumnType::Datetime => "datetime",
        }
    }

    /// Whether the type is a number (`int` or `float`).
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Int | ColumnType::Float)
    }

    /// "an int", "a float"… for messages.
    pub fn with_article(self) -> String {
        let article = if matches!(self, ColumnType::Int) { "an" } else { "a" };
        format!("{article} {}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::ColumnType;

    #[test]
    fn names_parse_back_to_their_types() {
        for ty in ColumnType::ALL {
            assert_eq!(ColumnType::parse(ty.name()), Some(ty));
        }
        assert_eq!(ColumnType::parse("integer"), None);
        assert_eq!(ColumnType::Int.with_article(), "an int");
        assert_eq!(ColumnType::Date.with_article(), "a date");
    }

    #[test]
    fn the_vocabulary_lists_the_same_types() {
        let names: Vec<&str> = ColumnType::ALL.iter().map(|ty| ty.name()).collect();
        assert_eq!(names, crate::vocabulary::COLUMN_TYPES);
    }
}
