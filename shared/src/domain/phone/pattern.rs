//! libphonenumber's patterns, compiled by build.rs into programs for a
//! backtracking matcher over digits: what the metadata's patterns were
//! written for (Java's and C++'s engines backtrack too), run without a
//! regex engine, its Unicode tables or any compilation at run time.
//!
//! Every text a pattern reads is a run of ASCII digits, so a character
//! class is a set of ten bits. A search is leftmost-first from the text's
//! start, as the `regex` crate finds a match that starts there, captures
//! included; the equivalence tests hold the two to each other.

/// One step of a program; targets are indices into the same program.
/// Four bytes each: the metadata's 34,000 steps are a tenth of a zip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inst {
    /// One digit of the set (bit `d` for digit `d`).
    Class(u16),
    /// How many digits the `Repeat` that follows takes: at least the
    /// first, at most the second (255: no bound).
    Counts(u8, u8),
    /// As many digits of the set as the `Counts` before it allow, the most
    /// first (no libphonenumber pattern repeats lazily).
    Repeat(u16),
    /// Go on at the next step; on failure, at the target.
    Split(u16),
    Jump(u16),
    /// Record the position in a capture slot (group `g` is `2g`, `2g+1`).
    Save(u8),
    /// The end of the text (`$`).
    End,
    Match,
}

const _: () = assert!(std::mem::size_of::<Inst>() == 4);

/// A compiled pattern: its program and how many groups it has, the whole
/// match (group 0) included.
#[derive(Clone, Copy, Debug)]
pub struct Pattern {
    pub program: &'static [Inst],
    pub groups: u8,
}

/// What a match captured: each group's span, when it took part.
#[derive(Debug, PartialEq, Eq)]
pub struct Captures(Vec<Option<usize>>);

impl Captures {
    pub fn end(&self) -> usize {
        self.0[1].expect("a match has an end")
    }

    pub fn group<'t>(&self, text: &'t str, group: usize) -> Option<&'t str> {
        match (self.0.get(2 * group)?, self.0.get(2 * group + 1)?) {
            (Some(start), Some(end)) => text.get(*start..*end),
            _ => None,
        }
    }
}

enum Frame {
    Step { pc: usize, at: usize },
    Restore { slot: usize, was: Option<usize> },
}

fn digit_bit(byte: u8) -> u16 {
    if byte.is_ascii_digit() {
        1 << (byte - b'0')
    } else {
        0
    }
}

impl Pattern {
    /// Whether the pattern matches from the text's start (at any length):
    /// what `find` reports as a match starting at 0.
    pub fn matches_start(&self, text: &str) -> bool {
        self.captures(text).is_some()
    }

    /// The leftmost-first match starting at the text's start. Each
    /// (instruction, position) pair is tried at most once, so a search
    /// costs at most the program's length times the text's, whatever the
    /// pattern (a later visit of a pair could only fail as the first did).
    pub fn captures(&self, text: &str) -> Option<Captures> {
        let text = text.as_bytes();
        let width = text.len() + 1;
        // One bit per pair: a few hundred bytes to clear for the longest
        // programs, which a warm parse runs a dozen times.
        let mut visited = vec![0u64; (self.program.len() * width).div_ceil(64)];
        let mut slots = vec![None; 2 * usize::from(self.groups)];
        let mut stack = vec![Frame::Step { pc: 0, at: 0 }];
        while let Some(frame) = stack.pop() {
            let (mut pc, mut at) = match frame {
                Frame::Restore { slot, was } => {
                    slots[slot] = was;
                    continue;
                }
                Frame::Step { pc, at } => (pc, at),
            };
            loop {
                let pair = pc * width + at;
                let (word, bit) = (pair / 64, 1u64 << (pair % 64));
                if visited[word] & bit != 0 {
                    break;
                }
                visited[word] |= bit;
                match self.program[pc] {
                    Inst::Class(set) => {
                        if text.get(at).is_some_and(|b| digit_bit(*b) & set != 0) {
                            pc += 1;
                            at += 1;
                        } else {
                            break;
                        }
                    }
                    Inst::Counts(min, max) => {
                        let Inst::Repeat(set) = self.program[pc + 1] else {
                            unreachable!("a Repeat follows its Counts")
                        };
                        let run = text[at..]
                            .iter()
                            .take(usize::from(max))
                            .take_while(|b| digit_bit(**b) & set != 0)
                            .count();
                        let min = usize::from(min);
                        if run < min {
                            break;
                        }
                        // The shorter runs wait on the stack, the shortest
                        // deepest.
                        for n in min..run {
                            stack.push(Frame::Step {
                                pc: pc + 2,
                                at: at + n,
                            });
                        }
                        at += run;
                        pc += 2;
                    }
                    Inst::Repeat(_) => unreachable!("run with its Counts"),
                    Inst::Split(other) => {
                        stack.push(Frame::Step {
                            pc: usize::from(other),
                            at,
                        });
                        pc += 1;
                    }
                    Inst::Jump(target) => pc = usize::from(target),
                    Inst::Save(slot) => {
                        let slot = usize::from(slot);
                        stack.push(Frame::Restore {
                            slot,
                            was: slots[slot],
                        });
                        slots[slot] = Some(at);
                        pc += 1;
                    }
                    Inst::End if at == text.len() => pc += 1,
                    Inst::End => break,
                    Inst::Match => {
                        slots[0] = Some(0);
                        slots[1] = Some(at);
                        return Some(Captures(slots));
                    }
                }
            }
        }
        None
    }
}
