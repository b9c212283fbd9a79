// Clock for snn_tb under Icarus Verilog (Verilator's C++ main, verilator_main.cpp, drives the clock itself).
// Parameters are given on the iverilog command line: -Ptb_icarus.LANES=16 ...
`timescale 1ns / 1ps
module tb_icarus;
    parameter LANES = 16, W_BITS = 16, V_BITS = 20, ACC_BITS = 40, MEM_BITS = 32, W_DEPTH = 4096, A_DEPTH = 1024,
              G_DEPTH = 16, T_MAX = 16, MAX_LEVELS = 16, HAS_LOG2 = 1, HAS_SHIFT = 1,
              HAS_TABLE = 1;
    reg clk = 1'b0;
    always #5 clk = ~clk;
    snn_tb #(.LANES(LANES), .W_BITS(W_BITS), .V_BITS(V_BITS), .ACC_BITS(ACC_BITS), .MEM_BITS(MEM_BITS), .W_DEPTH(W_DEPTH),
             .A_DEPTH(A_DEPTH), .G_DEPTH(G_DEPTH), .T_MAX(T_MAX), .MAX_LEVELS(MAX_LEVELS), .HAS_LOG2(HAS_LOG2),
             .HAS_SHIFT(HAS_SHIFT), .HAS_TABLE(HAS_TABLE)) tb (.clk(clk));
endmodule
