//! A name → type id table over BTF strings, without copying the names: each entry keeps the
//! type id and the name's offset in the string section, and names are read back from the BTF
//! when compared. Lookups go through an open-addressing hash table; the first type of a name
//! wins (vmlinux repeats some static functions' names across compilation units).
//!
//! Only names that are UTF-8 are indexed (kernel symbols are ASCII): every name the index gives
//! back is the name it was found by, never the `""` that [`Btf::str_at`] reads for other bytes.
//! The hash is keyed per index (SipHash with a random key), so a crafted BTF file cannot make
//! its names collide and the build quadratic.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use crate::btf::{Btf, TypeId};

#[derive(Default)]
pub(super) struct NameIndex {
    /// (type id, name offset) of each distinct name, in the order first seen.
    entries: Vec<(TypeId, u32)>,
    /// Hash slots: (hash, index + 1 into `entries`); index 0 is an empty slot.
    slots: Vec<(u32, u32)>,
    /// Entries pushed but not yet hashed.
    pending: Vec<(TypeId, u32)>,
    /// This index's hash key.
    hasher: RandomState,
}

impl NameIndex {
    fn hash(&self, name: &[u8]) -> u32 {
        self.hasher.hash_one(name) as u32
    }

    /// Queue a named type; [`NameIndex::build`] hashes everything queued.
    pub(super) fn push(&mut self, name_off: u32, id: TypeId) {
        if name_off != 0 {
            self.pending.push((id, name_off));
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn name_bytes<'b>(&self, btf: &'b Btf, i: usize) -> &'b [u8] {
        self.entries
            .get(i)
            .map_or(&[], |&(_, off)| btf.bytes_at(off))
    }

    pub(super) fn name<'b>(&self, btf: &'b Btf, i: usize) -> &'b str {
        self.entries.get(i).map_or("", |&(_, off)| btf.str_at(off))
    }

    /// Hash what was pushed; later entries with a name already present are dropped.
    pub(super) fn build(&mut self, btf: &Btf) {
        let pending = std::mem::take(&mut self.pending);
        let cap = (pending.len() * 2).next_power_of_two().max(16);
        self.slots = vec![(0, 0); cap];
        self.entries = Vec::with_capacity(pending.len());
        let mask = cap - 1;
        for (id, off) in pending {
            let name = btf.bytes_at(off);
            if name.is_empty() || std::str::from_utf8(name).is_err() {
                continue;
            }
            let h = self.hash(name);
            let mut slot = h as usize & mask;
            loop {
                match self.slots[slot] {
                    (_, 0) => {
                        self.entries.push((id, off));
                        self.slots[slot] = (h, self.entries.len() as u32);
                        break;
                    }
                    (sh, e) if sh == h && btf.bytes_at(self.entries[e as usize - 1].1) == name => {
                        break
                    }
                    _ => slot = (slot + 1) & mask,
                }
            }
        }
    }

    pub(super) fn get(&self, btf: &Btf, name: &str) -> Option<TypeId> {
        if self.slots.is_empty() {
            return None;
        }
        let name = name.as_bytes();
        let h = self.hash(name);
        let mask = self.slots.len() - 1;
        let mut slot = h as usize & mask;
        loop {
            match self.slots[slot] {
                (_, 0) => return None,
                (sh, e) if sh == h => {
                    let (id, off) = self.entries[e as usize - 1];
                    if btf.bytes_at(off) == name {
                        return Some(id);
                    }
                }
                _ => {}
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Entry indexes sorted by name.
    pub(super) fn sorted(&self, btf: &Btf) -> Vec<u32> {
        let mut order: Vec<(&[u8], u32)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, &(_, off))| (btf.bytes_at(off), i as u32))
            .collect();
        order.sort_unstable();
        order.into_iter().map(|(_, i)| i).collect()
    }
}
