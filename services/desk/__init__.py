"""The agent desk: offers pushed to each agent with the screen pop, and the agent's actions
(state, accept / reject, reply on the contact's channel, complete with a disposition)."""
