//! Shared data and shared queues, per `vm_id` in the [`MockWorld`]: CAS rules,
//! queue registration and resolution, and queue-ready notifications
//! (book: reference/hostcalls.md).

use super::state::status::*;
use super::state::{HostState, text};
use super::vm::Vm;
use super::world::{Event, Queue};

impl HostState {
    /// `proxy_get_shared_data`: value and CAS from this VM's `vm_id` scope.
    ///
    /// # Errors
    /// `NOT_FOUND` for a missing key.
    pub fn get_shared_data(&mut self, key: &[u8]) -> Result<(Vec<u8>, u32), u32> {
        self.enter("proxy_get_shared_data")?;
        let vm_id = &self.config.vm_id;
        self.world
            .with(|w| w.shared.get(vm_id).and_then(|m| m.get(key)).cloned())
            .ok_or(NOT_FOUND)
    }

    /// `proxy_set_shared_data`: CAS 0 writes unconditionally; a missing key is
    /// created regardless of the CAS; each write gets a fresh, non-zero CAS.
    ///
    /// # Errors
    /// `CAS_MISMATCH` when a non-zero CAS differs from the stored one.
    pub fn set_shared_data(&mut self, key: &[u8], value: &[u8], cas: u32) -> Result<(), u32> {
        self.enter("proxy_set_shared_data")?;
        let vm_id = self.config.vm_id.clone();
        self.world.with(|w| {
            let current = w
                .shared
                .get(&vm_id)
                .and_then(|m| m.get(key))
                .map(|(_, c)| *c);
            if let Some(stored) = current {
                if cas != 0 && cas != stored {
                    return Err(CAS_MISMATCH);
                }
            }
            let fresh = w.fresh_cas();
            w.shared
                .entry(vm_id)
                .or_default()
                .insert(key.to_vec(), (value.to_vec(), fresh));
            Ok(())
        })
    }

    // ---- shared queues ----------------------------------------------------------------

    /// `proxy_register_shared_queue`: idempotent by name; re-registering
    /// retargets notifications to the caller's root (last registrant wins).
    pub fn register_shared_queue(&mut self, name: &[u8]) -> Result<u32, u32> {
        self.enter("proxy_register_shared_queue")?;
        let vm_id = self.config.vm_id.clone();
        let name = text(name);
        let registrant = (self.vm_index, self.root_of(self.acting_context()));
        Ok(self.world.with(|w| {
            if let Some((token, queue)) = w
                .queues
                .iter_mut()
                .find(|(_, q)| q.vm_id == vm_id && q.name == name)
            {
                queue.registrant = registrant;
                return *token;
            }
            w.next_queue += 1;
            let token = w.next_queue;
            w.queues.insert(
                token,
                Queue {
                    vm_id,
                    name,
                    items: Default::default(),
                    registrant,
                },
            );
            token
        }))
    }

    /// `proxy_resolve_shared_queue`: an empty `vm_id` means this VM's.
    ///
    /// # Errors
    /// `NOT_FOUND` if never registered.
    pub fn resolve_shared_queue(&mut self, vm_id: &[u8], name: &[u8]) -> Result<u32, u32> {
        self.enter("proxy_resolve_shared_queue")?;
        let vm_id = if vm_id.is_empty() {
            self.config.vm_id.clone()
        } else {
            text(vm_id)
        };
        let name = text(name);
        self.world
            .with(|w| {
                w.queues
                    .iter()
                    .find(|(_, q)| q.vm_id == vm_id && q.name == name)
                    .map(|(t, _)| *t)
            })
            .ok_or(NOT_FOUND)
    }

    /// `proxy_enqueue_shared_queue`: appends and posts `on_queue_ready` to the
    /// registrant's VM (delivered after the current callback, never nested).
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown token.
    pub fn enqueue_shared_queue(&mut self, token: u32, data: &[u8]) -> Result<(), u32> {
        self.enter("proxy_enqueue_shared_queue")?;
        self.enqueue(token, data)
    }

    pub(crate) fn enqueue(&mut self, token: u32, data: &[u8]) -> Result<(), u32> {
        let registrant = self.world.with(|w| {
            let queue = w.queues.get_mut(&token)?;
            queue.items.push_back(data.to_vec());
            Some(queue.registrant)
        });
        let (vm, root) = registrant.ok_or(NOT_FOUND)?;
        self.world.post(vm, Event::QueueReady { root, token });
        Ok(())
    }

    /// `proxy_dequeue_shared_queue`.
    ///
    /// # Errors
    /// `EMPTY` when empty; `NOT_FOUND` for an unknown token.
    pub fn dequeue_shared_queue(&mut self, token: u32) -> Result<Vec<u8>, u32> {
        self.enter("proxy_dequeue_shared_queue")?;
        self.world.with(|w| {
            let queue = w.queues.get_mut(&token).ok_or(NOT_FOUND)?;
            queue.items.pop_front().ok_or(EMPTY)
        })
    }
}

impl Vm {
    pub(crate) fn enqueue(&self, token: u32, data: &[u8]) {
        self.op(|| {
            let result = self.state().enqueue(token, data);
            if result.is_err() {
                panic!("no shared queue has id {token}; a plugin must register it first (proxy_register_shared_queue)");
            }
        })
    }
}
