// snn_core: the snnq reference event-driven spiking core (one layer at a time, reconfigured between layers).
//
// The core holds one layer of an snnq integer IR: a convolution or dense layer with its neurons, or a pooling
// layer. It takes a stream of commands (cmd_word, valid/ready):
//
//   [63:60] op    0 EVENT, 1 STEP_END, 2 IMAGE_END (3 is left to the testbench: end of stream)
//   [59:44] c     channel (dense input: the flat index, or (c, y, x) of the producer, which the core flattens)
//   [43:32] y     row
//   [31:20] x     column
//   [19:0]  value graded spike (1 for a binary spike; input codes, sg counts and pooled sums are larger)
//
// and emits events in the same form (out_op 0 EVENT, 1 STEP_END, 2 IMAGE_END, 4 SCORE with a 64-bit value).
//
// Synaptic mode: an input event at (c, y, x) is scattered to every output (o, oy, ox) whose window holds it:
// oy = (y + pad_h - ki) >> s_h for every kernel row ki with the low s_h bits zero (strides are powers of two),
// likewise for x; one weight word (LANES output channels) per tap and channel group is read and accumulated
// (acc += W * value, shifted left by T-1-t for time-to-first-spike coding). A dense layer is a convolution
// whose kernel covers its whole input: one tap per event ("direct" addressing, also used by non-overlapping
// pooling). Pooling mode: the event goes to lane c % LANES of its window(s), combined by max, sum or
// first-spike. The neuron phase sweeps every accumulator word: the parallel schedule after every STEP_END
// (bias every step); the layerwise schedule after IMAGE_END, T firing steps from the window's integral (bias
// once). Pooling emits its windows after every STEP_END. Output neurons (no neuron kind) emit their integral
// as SCORE events at IMAGE_END. After IMAGE_END the core re-initialises its state for the next image.
//
// Configuration registers (cfg_addr): see `localparam R_*` below; the Python driver (snnq.export.rtl) writes
// the same map. Parameters are loaded per lane through ld_* (snn_pe: 0 weight, 1 threshold, 2 initial,
// 3 spacing, 4 bias, 5 table).
`timescale 1ns / 1ps
module snn_core #(
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
    input  wire               clk,
    input  wire               rst,
    input  wire               cfg_we,
    input  wire [5:0]         cfg_addr,
    input  wire [31:0]        cfg_data,
    input  wire               ld_we,
    input  wire [2:0]         ld_sel,
    input  wire [15:0]        ld_lane,
    input  wire [31:0]        ld_addr,
    input  wire signed [63:0] ld_data,
    input  wire               cmd_valid,
    output wire               cmd_ready,
    input  wire [63:0]        cmd_word,
    output reg                out_valid,
    output reg  [3:0]         out_op,
    output reg  [15:0]        out_c,
    output reg  [11:0]        out_y,
    output reg  [11:0]        out_x,
    output reg  signed [63:0] out_value,
    output wire               idle
);
    localparam LB = (LANES > 1) ? $clog2(LANES) : 1;
    localparam WA = $clog2(W_DEPTH), AA = $clog2(A_DEPTH), GA = (G_DEPTH > 1) ? $clog2(G_DEPTH) : 1,
               TA = (T_MAX > 1) ? $clog2(T_MAX) : 1;
    localparam LDA = (WA > AA) ? ((WA > TA + GA) ? WA : TA + GA) : ((AA > TA + GA) ? AA : TA + GA);

    // configuration register map
    localparam R_MODE = 0, R_IN_C = 1, R_IN_H = 2, R_IN_W = 3, R_OUT_C = 4, R_OUT_H = 5, R_OUT_W = 6, R_K_H = 7,
               R_K_W = 8, R_S_H = 9, R_S_W = 10, R_PAD_H = 11, R_PAD_W = 12, R_DIRECT = 13, R_GROUPS = 14,
               R_ROWS = 15, R_SYN = 16, R_TOP = 17, R_KIND = 18, R_MBITS = 19, R_LEAK = 20, R_LEVELS = 21,
               R_TABLE = 22, R_LAYERWISE = 23, R_T = 24, R_TSHIFT = 25, R_BIAS = 26, R_POOL_OP = 27,
               R_INIT_U = 28, R_RESET_ZERO = 29, R_START = 30, R_POS = 31, R_KK = 32, R_WORDS = 33, R_SHIFT = 34;
    localparam OP_NOP = 3'd0, OP_INIT = 3'd1, OP_SYN = 3'd2, OP_POOL = 3'd3, OP_NEU = 3'd4, OP_POOLOUT = 3'd5, OP_READ = 3'd6;
    localparam C_EVENT = 4'd0, C_STEP = 4'd1, C_IMAGE = 4'd2;
    localparam O_EVENT = 4'd0, O_STEP = 4'd1, O_IMAGE = 4'd2, O_SCORE = 4'd4;

    reg        mode_pool, direct, syn_table, layerwise, tshift, has_bias, init_u, reset_zero;
    reg [15:0] in_c, out_ch, rows, groups, kk;
    reg [11:0] in_h, in_w, out_h, out_w, k_h, k_w, pad_h, pad_w;
    reg [3:0]  s_h, s_w;
    reg [1:0]  syn_mode, pool_op;
    reg [5:0]  top, leak, levels;
    reg [2:0]  kind;
    reg [6:0]  mbits;
    reg [5:0]  steps, acc_shift;
    reg [31:0] pos, words;
    always @(posedge clk) begin
        if (cfg_we) begin
            case (cfg_addr)
                R_MODE: mode_pool <= cfg_data[0];
                R_IN_C: in_c <= cfg_data[15:0];
                R_IN_H: in_h <= cfg_data[11:0];
                R_IN_W: in_w <= cfg_data[11:0];
                R_OUT_C: out_ch <= cfg_data[15:0];
                R_OUT_H: out_h <= cfg_data[11:0];
                R_OUT_W: out_w <= cfg_data[11:0];
                R_K_H: k_h <= cfg_data[11:0];
                R_K_W: k_w <= cfg_data[11:0];
                R_S_H: s_h <= cfg_data[3:0];
                R_S_W: s_w <= cfg_data[3:0];
                R_PAD_H: pad_h <= cfg_data[11:0];
                R_PAD_W: pad_w <= cfg_data[11:0];
                R_DIRECT: direct <= cfg_data[0];
                R_GROUPS: groups <= cfg_data[15:0];
                R_ROWS: rows <= cfg_data[15:0];
                R_SYN: syn_mode <= cfg_data[1:0];
                R_TOP: top <= cfg_data[5:0];
                R_KIND: kind <= cfg_data[2:0];
                R_MBITS: mbits <= cfg_data[6:0];
                R_LEAK: leak <= cfg_data[5:0];
                R_LEVELS: levels <= cfg_data[5:0];
                R_TABLE: syn_table <= cfg_data[0];
                R_LAYERWISE: layerwise <= cfg_data[0];
                R_T: steps <= cfg_data[5:0];
                R_TSHIFT: tshift <= cfg_data[0];
                R_BIAS: has_bias <= cfg_data[0];
                R_POOL_OP: pool_op <= cfg_data[1:0];
                R_INIT_U: init_u <= cfg_data[0];
                R_RESET_ZERO: reset_zero <= cfg_data[0];
                R_POS: pos <= cfg_data;
                R_KK: kk <= cfg_data[15:0];
                R_WORDS: words <= cfg_data;
                R_SHIFT: acc_shift <= cfg_data[5:0];
                default: ;
            endcase
        end
    end
    wire start = cfg_we && cfg_addr == R_START;

    // ---- the lanes -----------------------------------------------------------------------------------------
    reg  [2:0]        iss_op;
    reg  [LANES-1:0]  iss_en;
    reg  [WA-1:0]     iss_waddr;
    reg  [AA-1:0]     iss_aaddr;
    reg  [GA-1:0]     iss_group;
    reg  [TA-1:0]     iss_step;
    reg  [V_BITS-1:0] iss_value;
    reg  [5:0]        iss_shift;
    reg               iss_bias;
    wire [V_BITS*LANES-1:0]   res_value;
    wire [ACC_BITS*LANES-1:0] res_acc;
    genvar l;
    generate
        for (l = 0; l < LANES; l = l + 1) begin : lane
            snn_pe #(.W_BITS(W_BITS), .V_BITS(V_BITS), .ACC_BITS(ACC_BITS), .MEM_BITS(MEM_BITS), .W_DEPTH(W_DEPTH),
                     .A_DEPTH(A_DEPTH), .G_DEPTH(G_DEPTH), .T_MAX(T_MAX), .MAX_LEVELS(MAX_LEVELS),
                     .HAS_LOG2(HAS_LOG2), .HAS_SHIFT(HAS_SHIFT), .HAS_TABLE(HAS_TABLE), .WA(WA), .AA(AA), .GA(GA), .TA(TA), .LA(LDA)) pe (
                .clk(clk), .ld_we(ld_we && ld_lane == l), .ld_sel(ld_sel), .ld_addr(ld_addr[LDA-1:0]),
                .ld_data(ld_data), .iss_op(iss_op), .iss_en(iss_en[l]), .iss_waddr(iss_waddr), .iss_aaddr(iss_aaddr),
                .iss_group(iss_group), .iss_step(iss_step), .iss_value(iss_value), .iss_shift(iss_shift),
                .iss_bias(iss_bias), .cfg_syn(syn_mode), .cfg_top(top), .cfg_kind(mode_pool ? 3'd0 : kind),
                .cfg_mbits(mbits), .cfg_leak(leak), .cfg_levels(levels), .cfg_table(syn_table), .cfg_init_u(init_u),
                .cfg_reset_zero(reset_zero), .cfg_pool_op(pool_op),
                .res_value(res_value[l * V_BITS +: V_BITS]), .res_acc(res_acc[l * ACC_BITS +: ACC_BITS])
            );
        end
    endgenerate

    // ---- control -------------------------------------------------------------------------------------------
    localparam S_IDLE = 3'd0, S_INIT = 3'd1, S_WAIT = 3'd2, S_SYN = 3'd3, S_SWEEP = 3'd4, S_MARK = 3'd5;
    localparam DEPTH = 4;       // result queue of a sweep: words with something to emit
    localparam P_NEURON = 2'd0, P_POOLOUT = 2'd1, P_SCORE = 2'd2;
    reg [2:0]  state;
    reg [1:0]  phase;           // what the sweep does
    reg [5:0]  t_in;            // input step (STEP_ENDs seen in this image)
    reg [5:0]  t_out;           // firing step of the sweep
    reg        after_image;     // the sweep belongs to IMAGE_END processing
    reg [31:0] widx;            // word index of a sweep
    reg [15:0] g;               // channel group of a sweep / event
    reg [11:0] oy, ox;          // output position of a sweep
    reg [15:0] ev_c;
    reg [11:0] ev_y, ev_x, ki, kj;
    reg [V_BITS-1:0] ev_v;
    reg [31:0] rowbase, gword, gbase_w;
    reg [3:0]  mark_op;
    // sweep pipeline: a word issued at cycle k has its results at k + 3 (d0 -> d1 -> d2 track it)
    reg        d0, d1, d2;
    reg [15:0] d0_g, d1_g, d2_g;
    reg [11:0] d0_y, d1_y, d2_y, d0_x, d1_x, d2_x;
    reg        issued_all;
    reg [LANES-1:0]          q_mask [0:DEPTH-1];
    reg [ACC_BITS*LANES-1:0] q_value [0:DEPTH-1];
    reg [15:0] q_g [0:DEPTH-1];
    reg [11:0] q_y [0:DEPTH-1];
    reg [11:0] q_x [0:DEPTH-1];
    reg [1:0]  q_head, q_tail;
    reg [2:0]  q_count;

    assign cmd_ready = state == S_WAIT;
    assign idle = state == S_WAIT;

    // lanes that hold a channel of the layer in group gg
    function [LANES-1:0] valid_lanes(input [15:0] gg);
        integer i;
        begin
            for (i = 0; i < LANES; i = i + 1) valid_lanes[i] = ({gg, {LB{1'b0}}} | i) < out_ch;
        end
    endfunction

    // the current tap of a synaptic or pooling event
    reg signed [15:0] ny, nx;
    reg        tap_ok;
    reg [11:0] ty, tx, tki, tkj;
    reg [31:0] tap_word, tap_row;
    always @* begin
        ny = $signed({4'd0, ev_y}) + $signed({4'd0, pad_h}) - $signed({4'd0, ki});
        nx = $signed({4'd0, ev_x}) + $signed({4'd0, pad_w}) - $signed({4'd0, kj});
        if (direct) begin
            tki = ev_y & ((12'd1 << s_h) - 12'd1);
            tkj = ev_x & ((12'd1 << s_w) - 12'd1);
            ty = ev_y >> s_h;
            tx = ev_x >> s_w;
            tap_ok = tki < k_h && tkj < k_w && ty < out_h && tx < out_w;
        end else begin
            tki = ki;
            tkj = kj;
            ty = ny[11:0] >> s_h;
            tx = nx[11:0] >> s_w;
            tap_ok = ny >= 0 && nx >= 0 && (ny[11:0] & ((12'd1 << s_h) - 12'd1)) == 0
                     && (nx[11:0] & ((12'd1 << s_w) - 12'd1)) == 0 && ty < out_h && tx < out_w;
        end
        tap_word = gword + ty * out_w + tx;
        tap_row = gbase_w + rowbase + tki * k_w + tkj;
    end
    wire last_tap = direct || (ki == k_h - 1 && kj == k_w - 1);

    integer e;
    reg found, push, pop;
    reg [LANES-1:0] push_mask, head_mask;
    reg [ACC_BITS*LANES-1:0] push_value;
    always @(posedge clk) begin
        out_valid <= 1'b0;
        iss_op <= OP_NOP;
        iss_en <= {LANES{1'b0}};
        iss_bias <= 1'b0;
        if (rst) begin
            state <= S_IDLE;
        end else begin
            case (state)
                S_IDLE: if (start) begin   // (a sweep ends with its pipeline and queue empty: they are cleared once here)
                    state <= S_INIT; widx <= 0; g <= 0; oy <= 0; ox <= 0; t_in <= 0;
                    d0 <= 1'b0; d1 <= 1'b0; d2 <= 1'b0; q_head <= 0; q_tail <= 0; q_count <= 0;
                end
                S_INIT: begin   // every word of the layer: acc = 0, membrane = initial, armed
                    iss_op <= OP_INIT;
                    iss_en <= valid_lanes(g);
                    iss_aaddr <= widx[AA-1:0];
                    iss_group <= g[GA-1:0];
                    widx <= widx + 1;
                    if (ox == out_w - 1) begin
                        ox <= 0;
                        if (oy == out_h - 1) begin oy <= 0; g <= g + 1; end else oy <= oy + 1;
                    end else ox <= ox + 1;
                    if (widx == words - 1) begin state <= S_WAIT; t_in <= 0; end
                end
                S_WAIT: if (cmd_valid) begin
                    case (cmd_word[63:60])
                        C_EVENT: begin
                            ev_c <= cmd_word[59:44]; ev_y <= cmd_word[43:32]; ev_x <= cmd_word[31:20]; ev_v <= cmd_word[19:0];
                            ki <= 0; kj <= 0;
                            if (mode_pool) begin
                                g <= cmd_word[59:44] >> LB;
                                gword <= (cmd_word[59:44] >> LB) * pos;
                                gbase_w <= 0;
                                rowbase <= 0;
                            end else begin
                                g <= 0; gword <= 0; gbase_w <= 0;
                                rowbase <= cmd_word[59:44] * kk;
                            end
                            state <= S_SYN;
                        end
                        C_STEP: begin
                            t_in <= t_in + 1;
                            if (mode_pool || !layerwise) begin
                                phase <= mode_pool ? P_POOLOUT : P_NEURON; t_out <= t_in; after_image <= 1'b0;
                                widx <= 0; g <= 0; oy <= 0; ox <= 0; begin state <= S_SWEEP; issued_all <= 1'b0; end
                            end
                        end
                        C_IMAGE: begin
                            after_image <= 1'b1; widx <= 0; g <= 0; oy <= 0; ox <= 0; t_out <= 0;
                            if (!mode_pool && layerwise) begin phase <= P_NEURON; begin state <= S_SWEEP; issued_all <= 1'b0; end end
                            else if (!mode_pool && kind == 3'd0) begin phase <= P_SCORE; begin state <= S_SWEEP; issued_all <= 1'b0; end end
                            else begin mark_op <= O_IMAGE; state <= S_MARK; end
                        end
                        default: ;
                    endcase
                end
                S_SYN: begin   // one tap (and channel group) per cycle
                    if (tap_ok) begin
                        iss_op <= mode_pool ? OP_POOL : OP_SYN;
                        iss_en <= mode_pool ? ({{(LANES - 1){1'b0}}, 1'b1} << ev_c[LB-1:0]) : valid_lanes(g);
                        iss_waddr <= tap_row[WA-1:0];
                        iss_aaddr <= tap_word[AA-1:0];
                        iss_value <= ev_v;
                        iss_shift <= acc_shift + (tshift ? (steps - 6'd1 - t_in) : 6'd0);
                    end
                    if (last_tap) begin
                        ki <= 0; kj <= 0;
                        if (mode_pool || g == groups - 1) state <= S_WAIT;
                        else begin g <= g + 1; gword <= gword + pos; gbase_w <= gbase_w + rows; end
                    end else if (kj == k_w - 1) begin kj <= 0; ki <= ki + 1; end
                    else kj <= kj + 1;
                end
                S_SWEEP: begin   // issue a word per cycle; queue the words whose results have events; emit one per cycle
                    push_mask = valid_lanes(d2_g);
                    for (e = 0; e < LANES; e = e + 1) begin
                        if (phase != P_SCORE && res_value[e * V_BITS +: V_BITS] == 0) push_mask[e] = 1'b0;
                        push_value[e * ACC_BITS +: ACC_BITS] = (phase == P_SCORE) ? res_acc[e * ACC_BITS +: ACC_BITS]
                            : {{(ACC_BITS - V_BITS){1'b0}}, res_value[e * V_BITS +: V_BITS]};
                    end
                    push = d2 && push_mask != 0;
                    if (push) begin
                        q_mask[q_tail] <= push_mask; q_value[q_tail] <= push_value;
                        q_g[q_tail] <= d2_g; q_y[q_tail] <= d2_y; q_x[q_tail] <= d2_x;
                        q_tail <= q_tail + 1'b1;
                    end
                    pop = 1'b0;
                    if (q_count != 0) begin   // emit the lowest lane of the head word
                        found = 1'b0;
                        head_mask = q_mask[q_head];
                        for (e = 0; e < LANES; e = e + 1) begin
                            if (!found && head_mask[e]) begin
                                found = 1'b1;
                                head_mask[e] = 1'b0;
                                out_valid <= 1'b1;
                                out_op <= (phase == P_SCORE) ? O_SCORE : O_EVENT;
                                out_c <= {q_g[q_head][15 - LB:0], {LB{1'b0}}} | e;
                                out_y <= q_y[q_head];
                                out_x <= q_x[q_head];
                                out_value <= $signed(q_value[q_head][e * ACC_BITS +: ACC_BITS]);
                            end
                        end
                        q_mask[q_head] <= head_mask;
                        if (head_mask == 0) begin pop = 1'b1; q_head <= q_head + 1'b1; end
                    end
                    q_count <= q_count + push - pop;
                    d1 <= d0; d1_g <= d0_g; d1_y <= d0_y; d1_x <= d0_x;
                    d2 <= d1; d2_g <= d1_g; d2_y <= d1_y; d2_x <= d1_x;
                    d0 <= 1'b0;
                    if (!issued_all && q_count + d0 + d1 + d2 + 1 <= DEPTH) begin
                        iss_op <= (phase == P_NEURON) ? OP_NEU : ((phase == P_POOLOUT) ? OP_POOLOUT : OP_READ);
                        iss_en <= valid_lanes(g);
                        iss_aaddr <= widx[AA-1:0];
                        iss_group <= g[GA-1:0];
                        iss_step <= t_out[TA-1:0];
                        iss_bias <= has_bias && (!layerwise || t_out == 0);
                        d0 <= 1'b1; d0_g <= g; d0_y <= oy; d0_x <= ox;
                        widx <= widx + 1;
                        if (ox == out_w - 1) begin
                            ox <= 0;
                            if (oy == out_h - 1) begin oy <= 0; g <= g + 1; end else oy <= oy + 1;
                        end else ox <= ox + 1;
                        if (widx == words - 1) issued_all <= 1'b1;
                    end
                    if (issued_all && !d0 && !d1 && !d2 && q_count == 0) begin   // the sweep is over
                        mark_op <= (phase == P_SCORE) ? O_IMAGE : O_STEP;
                        state <= S_MARK;
                    end
                end
                S_MARK: begin
                    out_valid <= 1'b1;
                    out_op <= mark_op;
                    out_c <= 0; out_y <= 0; out_x <= 0; out_value <= 0;
                    widx <= 0; g <= 0; oy <= 0; ox <= 0;
                    if (mark_op == O_IMAGE) state <= S_INIT;
                    else if (!after_image) state <= S_WAIT;
                    else if (t_out != steps - 1) begin t_out <= t_out + 1; begin state <= S_SWEEP; issued_all <= 1'b0; end end
                    else if (kind == 3'd0 && !mode_pool) begin phase <= P_SCORE; begin state <= S_SWEEP; issued_all <= 1'b0; end end
                    else begin mark_op <= O_IMAGE; state <= S_MARK; end
                end
                default: state <= S_IDLE;
            endcase
        end
    end
endmodule
