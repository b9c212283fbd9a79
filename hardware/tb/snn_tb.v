// snn_tb: streams input spikes into snn_core and records its output spikes (Icarus Verilog and Verilator).
//
// One run = one layer over a batch of images. Plusargs name the files (all but cfg, events and out optional):
//   +cfg=FILE        $readmemh: 64 words; 0..34 the core's registers (snn_core R_*), 40 weight bits,
//                    41 parameter (membrane) bits, 42 bias bits
//   +weight=FILE     the layer's weight codes from the deployment package (mem/<layer>.weight.mem):
//                    C order (out_channel, row), row = (c * k_h + ki) * k_w + kj
//   +threshold= +initial= +spacing= +bias=   one word per output channel
//   +table=FILE      step thresholds, (T, C) step-major
//   +events=FILE     one 64-bit hex command per line (snn_core's format; op 3 ends the stream)
//   +out=FILE        one line per output event: "op c y x value" (decimal); a last line "9 0 0 0 CYCLES"
// Every loaded word is sign-extended from its file's width and written into lane (channel % LANES).
`timescale 1ns / 1ps
module snn_tb #(
    parameter LANES      = 16,
    parameter W_BITS     = 16,
    parameter V_BITS     = 20,
    parameter ACC_BITS   = 40,
    parameter MEM_BITS   = 32,
    parameter W_DEPTH    = 4096,
    parameter A_DEPTH    = 1024,
    parameter G_DEPTH    = 16,
    parameter T_MAX      = 16,
    parameter MAX_LEVELS = 16,
    parameter HAS_LOG2   = 1,
    parameter HAS_SHIFT  = 1,
    parameter HAS_TABLE  = 1
) (
    input wire clk
);
    localparam R_OUT_C = 4, R_ROWS = 15, R_T = 24, R_START = 30, N_REGS = 35;
    localparam NW = LANES * W_DEPTH, NP = LANES * G_DEPTH, NT = LANES * G_DEPTH * T_MAX;

    reg [8*1024-1:0] f_cfg, f_events, f_out, f_weight, f_threshold, f_initial, f_spacing, f_bias, f_table;
    reg        has_weight, has_threshold, has_initial, has_spacing, has_bias, has_table;
    reg [31:0] cfg [0:63];
    reg [63:0] wbuf [0:NW-1];
    reg [63:0] thbuf [0:NP-1];
    reg [63:0] inbuf [0:NP-1];
    reg [63:0] spbuf [0:NP-1];
    reg [63:0] bbuf [0:NP-1];
    reg [63:0] tbuf [0:NT-1];
    integer fd_in, fd_out, i;

    initial begin
        if (!$value$plusargs("cfg=%s", f_cfg) || !$value$plusargs("events=%s", f_events) || !$value$plusargs("out=%s", f_out)) begin
            $display("snn_tb: +cfg=, +events= and +out= are required");
            $finish;
        end
        for (i = 0; i < 64; i = i + 1) cfg[i] = 0;
        $readmemh(f_cfg, cfg);
        has_weight = $value$plusargs("weight=%s", f_weight);
        has_threshold = $value$plusargs("threshold=%s", f_threshold);
        has_initial = $value$plusargs("initial=%s", f_initial);
        has_spacing = $value$plusargs("spacing=%s", f_spacing);
        has_bias = $value$plusargs("bias=%s", f_bias);
        has_table = $value$plusargs("table=%s", f_table);
        if (has_weight) $readmemh(f_weight, wbuf, 0, cfg[R_OUT_C] * cfg[R_ROWS] - 1);
        if (has_threshold) $readmemh(f_threshold, thbuf, 0, cfg[R_OUT_C] - 1);
        if (has_initial) $readmemh(f_initial, inbuf, 0, cfg[R_OUT_C] - 1);
        if (has_spacing) $readmemh(f_spacing, spbuf, 0, cfg[R_OUT_C] - 1);
        if (has_bias) $readmemh(f_bias, bbuf, 0, cfg[R_OUT_C] - 1);
        if (has_table) $readmemh(f_table, tbuf, 0, cfg[R_T] * cfg[R_OUT_C] - 1);
        fd_in = $fopen(f_events, "r");
        fd_out = $fopen(f_out, "w");
        if (fd_in == 0 || fd_out == 0) begin
            $display("snn_tb: cannot open the event or output file");
            $finish;
        end
    end

    function signed [63:0] sext(input [63:0] raw, input [31:0] bits);
        begin
            if (bits >= 64 || bits == 0) sext = raw;
            else sext = raw[bits - 1] ? raw - (64'd1 << bits) : raw;
        end
    endfunction

    // ---- the core --------------------------------------------------------------------------------------------
    reg         rst = 1'b1;
    reg         cfg_we = 1'b0;
    reg  [5:0]  cfg_addr;
    reg  [31:0] cfg_data;
    reg         ld_we = 1'b0;
    reg  [2:0]  ld_sel;
    reg  [15:0] ld_lane;
    reg  [31:0] ld_addr;
    reg  signed [63:0] ld_data;
    reg         cmd_valid = 1'b0;
    wire        cmd_ready;
    reg  [63:0] cmd_word;
    wire        out_valid, idle;
    wire [3:0]  out_op;
    wire [15:0] out_c;
    wire [11:0] out_y, out_x;
    wire signed [63:0] out_value;
    snn_core #(.LANES(LANES), .W_BITS(W_BITS), .V_BITS(V_BITS), .ACC_BITS(ACC_BITS), .MEM_BITS(MEM_BITS), .W_DEPTH(W_DEPTH),
               .A_DEPTH(A_DEPTH), .G_DEPTH(G_DEPTH), .T_MAX(T_MAX), .MAX_LEVELS(MAX_LEVELS), .HAS_LOG2(HAS_LOG2), .HAS_SHIFT(HAS_SHIFT), .HAS_TABLE(HAS_TABLE)) core (
        .clk(clk), .rst(rst), .cfg_we(cfg_we), .cfg_addr(cfg_addr), .cfg_data(cfg_data), .ld_we(ld_we), .ld_sel(ld_sel),
        .ld_lane(ld_lane), .ld_addr(ld_addr), .ld_data(ld_data), .cmd_valid(cmd_valid), .cmd_ready(cmd_ready),
        .cmd_word(cmd_word), .out_valid(out_valid), .out_op(out_op), .out_c(out_c), .out_y(out_y), .out_x(out_x),
        .out_value(out_value), .idle(idle)
    );

    // ---- loading, streaming, recording ---------------------------------------------------------------------------
    localparam T_RESET = 0, T_CFG = 1, T_LOAD = 2, T_START = 3, T_RUN = 4, T_END = 5;
    reg [2:0]  tstate = T_RESET;
    reg [2:0]  sel;          // which memory is being loaded (0 weight .. 5 table)
    reg [31:0] n, count, o, row, bits;
    reg [63:0] cycles = 0;
    reg        have, ended;
    reg [3:0]  quiet;
    reg [63:0] word;
    integer    r;

    function [31:0] entries(input [2:0] s);
        begin
            case (s)
                3'd0: entries = has_weight ? cfg[R_OUT_C] * cfg[R_ROWS] : 0;
                3'd1: entries = has_threshold ? cfg[R_OUT_C] : 0;
                3'd2: entries = has_initial ? cfg[R_OUT_C] : 0;
                3'd3: entries = has_spacing ? cfg[R_OUT_C] : 0;
                3'd4: entries = has_bias ? cfg[R_OUT_C] : 0;
                default: entries = has_table ? cfg[R_T] * cfg[R_OUT_C] : 0;
            endcase
        end
    endfunction

    always @(posedge clk) begin
        cycles <= cycles + 1;
        cfg_we <= 1'b0;
        ld_we <= 1'b0;
        if (out_valid && tstate != T_RESET)  // the core's outputs are defined once it is out of reset
            $fwrite(fd_out, "%0d %0d %0d %0d %0d\n", out_op, out_c, out_y, out_x, out_value);
        case (tstate)
            T_RESET: begin
                rst <= 1'b0; n <= 0; tstate <= T_CFG;
            end
            T_CFG: begin
                cfg_we <= 1'b1; cfg_addr <= n[5:0]; cfg_data <= cfg[n];
                if (n == N_REGS - 1) begin tstate <= T_LOAD; sel <= 0; n <= 0; end
                else n <= (n + 1 == R_START) ? n + 2 : n + 1;
            end
            T_LOAD: begin
                count = entries(sel);
                if (n >= count) begin
                    n <= 0;
                    if (sel == 3'd5) tstate <= T_START; else sel <= sel + 1;
                end else begin
                    ld_we <= 1'b1; ld_sel <= sel;
                    case (sel)
                        3'd0: begin
                            o = n / cfg[R_ROWS]; row = n % cfg[R_ROWS];
                            ld_lane <= o % LANES; ld_addr <= (o / LANES) * cfg[R_ROWS] + row;
                            ld_data <= sext(wbuf[n], cfg[40]);
                        end
                        3'd5: begin
                            o = n % cfg[R_OUT_C];
                            ld_lane <= o % LANES; ld_addr <= (n / cfg[R_OUT_C]) * G_DEPTH + o / LANES;
                            ld_data <= sext(tbuf[n], cfg[41]);
                        end
                        default: begin
                            ld_lane <= n % LANES; ld_addr <= n / LANES;
                            case (sel)
                                3'd1: ld_data <= sext(thbuf[n], cfg[41]);
                                3'd2: ld_data <= sext(inbuf[n], cfg[41]);
                                3'd3: ld_data <= sext(spbuf[n], cfg[41]);
                                default: ld_data <= sext(bbuf[n], cfg[42]);
                            endcase
                        end
                    endcase
                    n <= n + 1;
                end
            end
            T_START: begin
                cfg_we <= 1'b1; cfg_addr <= R_START; cfg_data <= 1;
                have = 1'b0; ended = 1'b0; quiet <= 0;
                tstate <= T_RUN;
            end
            T_RUN: begin
                if (cmd_valid && cmd_ready) have = 1'b0;
                if (!have && !ended) begin
                    r = $fscanf(fd_in, "%h\n", word);
                    if (r != 1 || word[63:60] == 4'd3) ended = 1'b1;
                    else have = 1'b1;
                end
                cmd_valid <= have;
                cmd_word <= word;
                if (ended && !have && idle && !out_valid) quiet <= quiet + 1; else quiet <= 0;
                if (quiet == 4'd8) tstate <= T_END;
            end
            T_END: begin
                $fwrite(fd_out, "9 0 0 0 %0d\n", cycles);
                $fclose(fd_out);
                $fclose(fd_in);
                $finish;
            end
            default: ;
        endcase
    end
endmodule
