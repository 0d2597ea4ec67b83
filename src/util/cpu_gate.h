#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

namespace carrel {

// Lets at most a few request handlers run at once, first come first served.
//
// On a machine of two cores, sixty-four handler threads all running make the kernel share the
// cores among them in slices; the one thread that runs everyone's batched writes (the SQLite
// store's group commit) then waits out the others' slices in the middle of a batch, and every
// request in that batch waits with it. Behind the gate, handlers beyond the slots wait in
// line instead, and the batch has a core to itself.
//
// A handler gives its slot up for good (Release) when it is about to wait for another thread,
// its write in a batch, or to run long on purpose, a password hash; what is left of its
// request after that is short and runs outside the gate. Taking a slot is the first thing a
// handler does, holding no lock, and nothing ever waits for a slot again: the gate cannot
// deadlock with the store's locks.
class CpuGate {
 public:
  explicit CpuGate(int slots) : free_(slots) {}
  CpuGate(const CpuGate&) = delete;
  CpuGate& operator=(const CpuGate&) = delete;

  // Held by a handler from its start; waits for a slot. A null gate admits at once.
  class Admission {
   public:
    explicit Admission(CpuGate* gate);
    ~Admission();  // gives the slot back, unless Release did
    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;

   private:
    CpuGate* gate_;
  };

  // Gives the calling thread's slot, if it holds one, to the next in line.
  static void Release();

  // For tests and the operator's view.
  int free_slots();
  size_t in_line();

 private:
  struct Waiter {
    std::condition_variable cv;
    bool admitted = false;
  };

  void Enter();
  void Leave();

  std::mutex mu_;
  int free_;
  std::deque<Waiter*> line_;  // not empty only while no slot is free
};

}  // namespace carrel
