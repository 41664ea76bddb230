"""Stage 9: two-stage SFT of Qwen3 on Ray Train, with loss on the agent's own outputs only."""
