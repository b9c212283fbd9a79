// Verilator driver of snn_tb: toggles the clock until the testbench calls $finish.
#include <memory>

#include "Vsnn_tb.h"
#include "verilated.h"

int main(int argc, char** argv) {
    const std::unique_ptr<VerilatedContext> context{new VerilatedContext};
    context->commandArgs(argc, argv);
    const std::unique_ptr<Vsnn_tb> top{new Vsnn_tb{context.get()}};
    top->clk = 0;
    top->eval();
    while (!context->gotFinish()) {
        context->timeInc(5);
        top->clk = !top->clk;
        top->eval();
    }
    top->final();
    return 0;
}
