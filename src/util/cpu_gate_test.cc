#include "util/cpu_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace carrel {
namespace {

// Waits (bounded) until `done` holds; the threads under test get there on their own.
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 5000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

TEST(CpuGateTest, NoMoreThanItsSlotsRunAtOnceAndEveryoneGetsIn) {
  CpuGate gate(3);
  std::atomic<int> running{0}, most{0}, finished{0};
  std::vector<std::thread> handlers;
  for (int i = 0; i < 24; ++i) {
    handlers.emplace_back([&] {
      CpuGate::Admission admitted(&gate);
      int now = ++running;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      --running;
      ++finished;
    });
  }
  for (std::thread& t : handlers) t.join();
  EXPECT_EQ(finished.load(), 24);
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 2);  // the slots are used, not just one
  EXPECT_EQ(gate.free_slots(), 3);
  EXPECT_EQ(gate.in_line(), 0u);
}

TEST(CpuGateTest, HandlersAreLetInInTheOrderTheyCame) {
  CpuGate gate(1);
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread> handlers;
  {
    CpuGate::Admission first(&gate);  // the one slot is taken
    for (int i = 0; i < 5; ++i) {
      handlers.emplace_back([&, i] {
        CpuGate::Admission admitted(&gate);
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(i);
      });
      // The next one comes only once this one stands in line.
      ASSERT_TRUE(Eventually([&] { return gate.in_line() == static_cast<size_t>(i + 1); }));
    }
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(order.empty());
  }
  for (std::thread& t : handlers) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(gate.free_slots(), 1);
}

TEST(CpuGateTest, ReleaseLetsTheNextInWhileTheHandlerGoesOnAndFreesNoSecondSlot) {
  CpuGate gate(1);
  std::atomic<bool> second_in{false};
  std::thread second;
  {
    CpuGate::Admission admitted(&gate);
    second = std::thread([&] {
      CpuGate::Admission next(&gate);
      second_in = true;
    });
    ASSERT_TRUE(Eventually([&] { return gate.in_line() == 1; }));
    EXPECT_FALSE(second_in.load());
    CpuGate::Release();  // as before waiting for a batched write
    ASSERT_TRUE(Eventually([&] { return second_in.load(); }));
    CpuGate::Release();  // a second release is nothing
  }
  second.join();
  // One slot in all, whatever the releases: not two.
  EXPECT_EQ(gate.free_slots(), 1);
}

TEST(CpuGateTest, WithoutAGateOrOutsideAHandlerNothingWaits) {
  CpuGate::Release();  // a thread holding no slot: nothing happens
  { CpuGate::Admission admitted(nullptr); }
  CpuGate gate(1);
  {
    CpuGate::Admission outer(&gate);
    // A thread already holding a slot is not made to wait for a second one.
    {
      CpuGate::Admission inner(&gate);
      EXPECT_EQ(gate.free_slots(), 0);
    }
    EXPECT_EQ(gate.free_slots(), 0);  // the inner one gave back nothing it did not take
  }
  EXPECT_EQ(gate.free_slots(), 1);
}

}  // namespace
}  // namespace carrel
