// snn_pe: one processing element (lane) of the snnq reference spiking core.
//
// A lane owns the output channels c = g * LANES + lane (g = 0 .. groups-1): their synaptic weights, their
// current accumulators, their membranes and their neuron parameters. Every lane sees the same operation each
// cycle (SIMD); `iss_en` masks lanes that do not take part (channels past the layer's width, or every lane but
// one for a pooling event). Two stages: A registers the memory reads of the issued operation (synchronous
// reads, so the memories map to block RAM); B computes, writes back and registers the result. Back-to-back
// operations on the same word are forwarded from B to the next B, so one operation can be issued every cycle;
// a result (res_value, res_acc) is visible three cycles after its operation was issued.
//
// Operations (iss_op):
//   INIT     acc = 0; u = initial[g] (or 0); armed = 1
//   SYN      acc += (W * v) << shift                      W decoded from the stored code (signed, ternary, log2)
//   POOL     acc = max(acc, v) | acc + v | acc | (v != 0)  (max, sum, first-spike)
//   NEU      I = acc + bias[g] (when iss_bias); u = sat(charge(u, I)); fire; reset; acc = 0 (no neuron: acc = I)
//   POOLOUT  out = acc (first-spike: 1 if acc != 0 and armed; armed &= acc == 0); acc = 0
//   READ     out_acc = acc
// Neuron kinds (cfg_kind): 0 none, 1 if (u + I), 2 lif (u - (u >>> leak) + I), 3 sg (stateless: I; the output
// counts the levels theta + k * spacing reached, k < levels), 4 ttfs (if that fires once; with cfg_table the
// threshold of step t is table[t][g]). sat() clips to the signed range of cfg_mbits bits; a spike resets by
// subtracting theta (cfg_reset_zero: to 0).
`timescale 1ns / 1ps
module snn_pe #(
    parameter W_BITS     = 16,    // stored weight code width (two's complement)
    parameter V_BITS     = 20,    // event value width (graded spikes, input codes)
    parameter ACC_BITS   = 40,    // current accumulator width
    parameter MEM_BITS   = 32,    // membrane register width (the run-time width cfg_mbits <= MEM_BITS)
    parameter W_DEPTH    = 4096,  // weight words per lane
    parameter A_DEPTH    = 1024,  // accumulator / membrane words per lane
    parameter G_DEPTH    = 16,    // channel groups per lane (neuron parameters)
    parameter T_MAX      = 16,    // steps of the per-step threshold table
    parameter MAX_LEVELS = 16,    // comparators of a scatter-and-gather group
    parameter HAS_LOG2   = 1,     // decode log2 weight codes (a shifter); 0: signed and ternary codes only
    parameter HAS_SHIFT  = 1,     // shifted products: time-weighted events (ttfs) and accumulator shifts (a shifter)
    parameter HAS_TABLE  = 1,     // per-step threshold tables (ttfs on the layerwise schedule)
    parameter WA = 12, parameter AA = 10, parameter GA = 4, parameter TA = 4,
    parameter LA = 12             // load address width: max(WA, TA + GA)
) (
    input  wire                       clk,
    // loading: ld_sel 0 weight, 1 threshold, 2 initial, 3 spacing, 4 bias, 5 table (address {step, group})
    input  wire                       ld_we,
    input  wire [2:0]                 ld_sel,
    input  wire [LA-1:0]              ld_addr,
    input  wire signed [63:0]         ld_data,
    // issue (stage A)
    input  wire [2:0]                 iss_op,
    input  wire                       iss_en,
    input  wire [WA-1:0]              iss_waddr,
    input  wire [AA-1:0]              iss_aaddr,
    input  wire [GA-1:0]              iss_group,
    input  wire [TA-1:0]              iss_step,
    input  wire [V_BITS-1:0]          iss_value,
    input  wire [5:0]                 iss_shift,
    input  wire                       iss_bias,
    // configuration
    input  wire [1:0]                 cfg_syn,        // 0 signed, 1 ternary, 2 log2
    input  wire [5:0]                 cfg_top,        // log2: W = sign(c) * 2^(top - |c| + 1)
    input  wire [2:0]                 cfg_kind,
    input  wire [6:0]                 cfg_mbits,
    input  wire [5:0]                 cfg_leak,
    input  wire [5:0]                 cfg_levels,
    input  wire                       cfg_table,
    input  wire                       cfg_init_u,
    input  wire                       cfg_reset_zero,
    input  wire [1:0]                 cfg_pool_op,    // 0 max, 1 sum, 2 first spike
    // stage B results
    output reg  [V_BITS-1:0]          res_value,     // NEU / POOLOUT / READ results, the cycle after stage B
    output reg  signed [ACC_BITS-1:0] res_acc
);
    localparam OP_INIT = 3'd1, OP_SYN = 3'd2, OP_POOL = 3'd3, OP_NEU = 3'd4, OP_POOLOUT = 3'd5, OP_READ = 3'd6;
    localparam K_NONE = 3'd0, K_IF = 3'd1, K_LIF = 3'd2, K_SG = 3'd3, K_TTFS = 3'd4;

    reg signed [W_BITS-1:0]   wmem   [0:W_DEPTH-1];
    reg signed [ACC_BITS-1:0] amem   [0:A_DEPTH-1];
    reg signed [MEM_BITS-1:0] umem   [0:A_DEPTH-1];
    reg                       fmem   [0:A_DEPTH-1];
    reg signed [MEM_BITS-1:0] theta  [0:G_DEPTH-1];
    reg signed [MEM_BITS-1:0] init_u [0:G_DEPTH-1];
    reg signed [MEM_BITS-1:0] spacing[0:G_DEPTH-1];
    reg signed [ACC_BITS-1:0] bias   [0:G_DEPTH-1];
    reg signed [MEM_BITS-1:0] table_t[0:T_MAX*G_DEPTH-1];

    always @(posedge clk) begin
        if (ld_we) begin
            case (ld_sel)
                3'd0: wmem[ld_addr[WA-1:0]]                <= ld_data[W_BITS-1:0];
                3'd1: theta[ld_addr[GA-1:0]]               <= ld_data[MEM_BITS-1:0];
                3'd2: init_u[ld_addr[GA-1:0]]              <= ld_data[MEM_BITS-1:0];
                3'd3: spacing[ld_addr[GA-1:0]]             <= ld_data[MEM_BITS-1:0];
                3'd4: bias[ld_addr[GA-1:0]]                <= ld_data[ACC_BITS-1:0];
                default: table_t[ld_addr[TA+GA-1:0]]       <= ld_data[MEM_BITS-1:0];
            endcase
        end
    end

    // ---- stage A: synchronous reads and the operation's registers ---------------------------------------
    reg signed [W_BITS-1:0]   w_rd;
    reg signed [ACC_BITS-1:0] a_rd, b_rd;
    reg signed [MEM_BITS-1:0] u_rd, th_rd, in_rd, sp_rd, tb_rd;
    reg                       f_rd;
    reg [2:0]                 op_b;
    reg                       en_b, bias_b;
    reg [AA-1:0]              addr_b;
    reg [V_BITS-1:0]          v_b;
    reg [5:0]                 sh_b;
    always @(posedge clk) begin
        w_rd  <= wmem[iss_waddr];
        a_rd  <= amem[iss_aaddr];
        u_rd  <= umem[iss_aaddr];
        f_rd  <= fmem[iss_aaddr];
        th_rd <= theta[iss_group];
        in_rd <= init_u[iss_group];
        sp_rd <= spacing[iss_group];
        b_rd  <= bias[iss_group];
        tb_rd <= table_t[{iss_step, iss_group}];
        op_b  <= iss_op;
        en_b  <= iss_en;
        addr_b <= iss_aaddr;
        v_b   <= iss_value;
        sh_b  <= iss_shift;
        bias_b <= iss_bias;
    end

    // ---- forwarding of the previous write ----------------------------------------------------------------
    reg                       fw_a, fw_u;
    reg [AA-1:0]              fw_addr;
    reg signed [ACC_BITS-1:0] fw_acc;
    reg signed [MEM_BITS-1:0] fw_mem;
    reg                       fw_flag;
    wire hit = fw_addr == addr_b;
    wire signed [ACC_BITS-1:0] a_cur = (fw_a && hit) ? fw_acc : a_rd;
    wire signed [MEM_BITS-1:0] u_cur = (fw_u && hit) ? fw_mem : u_rd;
    wire                       f_cur = (fw_u && hit) ? fw_flag : f_rd;

    // ---- stage B: compute and write back (results registered: visible the cycle after) --------------------
    localparam MW = (ACC_BITS > MEM_BITS) ? ACC_BITS : MEM_BITS;
    localparam DW = ((MW > V_BITS) ? MW : V_BITS) + 2;   // datapath width
    localparam signed [DW-1:0] ZERO = 0, ONE = 1, MINUS_ONE = -1;
    reg signed [DW-1:0] wval, prod, vext, current, charge, u_sat, hi, lo, thr, u_next, level;
    reg [5:0]  mag;
    reg        fire, f_next;
    reg [V_BITS-1:0] count;
    reg signed [ACC_BITS-1:0] acc_next;
    integer k;
    always @(posedge clk) begin
        fw_a <= 1'b0;
        fw_u <= 1'b0;
        fw_addr <= addr_b;
        case (op_b)
            OP_INIT: begin
                u_next = cfg_init_u ? in_rd : ZERO;
                if (en_b) begin
                    amem[addr_b] <= 0; umem[addr_b] <= u_next[MEM_BITS-1:0]; fmem[addr_b] <= 1'b1;
                    fw_a <= 1'b1; fw_u <= 1'b1;
                end
                fw_acc <= 0; fw_mem <= u_next[MEM_BITS-1:0]; fw_flag <= 1'b1;
            end
            OP_SYN: begin
                if (HAS_LOG2 && cfg_syn == 2'd2) begin   // log2 codes: a shift
                    mag  = w_rd < 0 ? -w_rd : w_rd;
                    wval = (mag == 0) ? ZERO : ((ONE <<< (cfg_top + 1 - mag)) * (w_rd < 0 ? MINUS_ONE : ONE));
                end else begin
                    mag  = 6'd0;
                    wval = w_rd;
                end
                vext = v_b;
                if (cfg_syn == 2'd1)   // ternary: an add, a subtract or nothing
                    prod = (wval == ONE) ? vext : ((wval == MINUS_ONE) ? -vext : ZERO);
                else
                    prod = wval * vext;
                acc_next = a_cur + (HAS_SHIFT ? (prod <<< sh_b) : prod);
                if (en_b) begin amem[addr_b] <= acc_next; fw_a <= 1'b1; end
                fw_acc <= acc_next;
            end
            OP_POOL: begin
                vext = v_b;
                case (cfg_pool_op)
                    2'd0:    acc_next = ($signed(vext) > a_cur) ? vext : a_cur;
                    2'd1:    acc_next = a_cur + vext;
                    default: acc_next = (v_b != 0 || a_cur != 0) ? 1 : 0;
                endcase
                if (en_b) begin amem[addr_b] <= acc_next; fw_a <= 1'b1; end
                fw_acc <= acc_next;
            end
            OP_NEU: begin
                hi = (ONE <<< (cfg_mbits - 1)) - ONE;
                lo = -(ONE <<< (cfg_mbits - 1));
                current = a_cur + ((bias_b) ? b_rd : ZERO);
                case (cfg_kind)
                    K_LIF:   charge = u_cur - (u_cur >>> cfg_leak) + current;
                    K_SG:    charge = current;
                    default: charge = u_cur + current;
                endcase
                u_sat = (charge > hi) ? hi : ((charge < lo) ? lo : charge);
                thr = (HAS_TABLE && cfg_table) ? tb_rd : th_rd;
                count = {V_BITS{1'b0}};
                if (MAX_LEVELS > 1 && cfg_kind == K_SG)
                    for (k = 0; k < MAX_LEVELS; k = k + 1) begin
                        level = th_rd + k * sp_rd;
                        if (k < cfg_levels && u_sat >= level) count = count + 1'b1;
                    end
                fire   = (cfg_kind != K_SG) && (cfg_kind != K_NONE) && f_cur && (u_sat >= thr);
                u_next = fire ? (cfg_reset_zero ? ZERO : u_sat - th_rd) : u_sat;
                f_next = (cfg_kind == K_TTFS) ? (f_cur & ~fire) : f_cur;
                acc_next = (cfg_kind == K_NONE) ? current : 0;
                res_value <= (cfg_kind == K_SG) ? count : {{(V_BITS - 1){1'b0}}, fire};
                res_acc <= acc_next;
                if (en_b) begin
                    amem[addr_b] <= acc_next; umem[addr_b] <= u_next[MEM_BITS-1:0]; fmem[addr_b] <= f_next;
                    fw_a <= 1'b1; fw_u <= 1'b1;
                end
                fw_acc <= acc_next; fw_mem <= u_next[MEM_BITS-1:0]; fw_flag <= f_next;
            end
            OP_POOLOUT: begin
                if (cfg_pool_op == 2'd2) begin   // first spike: once per window and image
                    res_value <= (a_cur != 0 && f_cur) ? 1 : 0;
                    f_next = f_cur & (a_cur == 0);
                end else begin
                    res_value <= a_cur[V_BITS-1:0];
                    f_next = f_cur;
                end
                res_acc <= a_cur;
                if (en_b) begin
                    amem[addr_b] <= 0; fmem[addr_b] <= f_next;
                    fw_a <= 1'b1; fw_u <= 1'b1;
                end
                fw_acc <= 0; fw_mem <= u_cur; fw_flag <= f_next;
            end
            OP_READ: begin
                res_value <= {V_BITS{1'b0}};
                res_acc <= a_cur;
            end
            default: ;
        endcase
    end
endmodule
