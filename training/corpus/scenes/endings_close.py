"""Hand-written closing moments for the outcomes ``resolved`` and ``unresolved``.

``ENDINGS_CLOSE[outcome][end_sentiment]`` is a tuple of scenes; a scene is a tuple of
``(speaker, text)`` lines with speaker ``agent``, ``customer`` or ``system``. Scenes are written to fit
contacts of any reason, so they talk about "it", "the change", "the account" or an order in general.
"""

from __future__ import annotations

ENDINGS_CLOSE: dict[str, dict[str, tuple[tuple[tuple[str, str], ...], ...]]] = {
    "resolved": {
        "negative": (
            (
                ("agent", "Okay, that's gone through now. You'll get an email confirming it in the next few minutes."),
                ("customer", "Great, only took three calls and an hour of my life."),
                ("agent", "I'm sorry it took that long, {name}."),
                ("customer", "Yeah, bye then."),
            ),
            (
                (
                    "agent",
                    "So I've checked, and the answer is no, that can't be changed once it's been processed. "
                    "That's the rule, I'm afraid.",
                ),
                ("customer", "Well that's a ridiculous rule but at least I know now."),
                ("agent", "I get it. I could put you through to a supervisor, but they'd tell you the same thing."),
                ("customer", "Don't bother. I've got my answer."),
            ),
            (
                ("customer", "So is it done or not?"),
                ("agent", "It is, the update is showing on my side as of right now."),
                ("customer", "Fine, but I shouldn't have needed to chase it."),
            ),
            (
                (
                    "agent",
                    "Right, I've fixed it on order {order}. It should display correctly when you refresh the page.",
                ),
                ("customer", "It does. This is the third time I've had to ask someone to do that."),
                ("agent", "I've left a note on the account so it doesn't happen again."),
                ("customer", "We'll see."),
            ),
            (
                ("agent", "That's all sorted now. Anything else I can help with today?"),
                ("customer", "No, just disappointed it came to this."),
                ("system", "*** Call ended by customer ***"),
            ),
            (
                ("agent", "I've made the change and the confirmation is on its way to your inbox."),
                ("customer", "Yep."),
                ("agent", "Is there anything else at all?"),
                ("customer", "Honestly I shouldn't have had to contact you for something this basic."),
                ("system", "Chat ended by visitor"),
            ),
            (
                (
                    "agent",
                    "Just so you know, if this hadn't worked I'd have sent it over to {team}, "
                    "but it's gone through fine on my end.",
                ),
                ("customer", "Good, because I wasn't going to wait another week."),
                ("agent", "You're all set, {name}."),
                ("customer", "Right, well, it shouldn't have been this hard."),
            ),
            (
                ("customer", "And that's actually it? You're sure this time?"),
                ("agent", "I'm sure. I can see it completed in the system, with today's date on it."),
                ("customer", "The last person was sure too."),
            ),
            (
                (
                    "agent",
                    "I've looked at it and the price you were quoted is right, it's {amount}. "
                    "There's no discount I can apply to it.",
                ),
                ("customer", "That's daylight robbery, but okay, at least it's clear."),
            ),
            (
                ("agent", "Your account's updated. Sorry again about the wait on the phone earlier."),
                ("customer", "Forty minutes on hold. Forty."),
                ("agent", "I know, it's been a very busy day. Everything's done though."),
                ("customer", "Mm, okay, goodbye."),
            ),
            (
                ("agent", "It's processed. You don't need to do anything else."),
                ("customer", "Finally."),
                ("system", "[call ended 14:32]"),
            ),
            (
                (
                    "customer",
                    "I'm only staying with {company} because it's too much hassle to switch, just so you know.",
                ),
                ("agent", "I'm sorry to hear that. The good news is everything's been taken care of on {order}."),
                ("customer", "Yeah, I can see it, bye."),
            ),
            (
                ("agent", "I've corrected it. There was an error on our side, and I apologise for that."),
                ("customer", "An apology doesn't give me my afternoon back, but okay."),
                ("agent", "Understood, and I've noted it under reference {ticket} in case you ever need it."),
                ("customer", "Whatever, thanks."),
            ),
            (
                ("customer", "I want to speak to your manager."),
                (
                    "agent",
                    "I can arrange that if you'd like, but I've actually just managed to push it through myself. "
                    "It's done.",
                ),
                ("customer", "Oh. Well, fine then. Would've been nice if the first person had done that."),
                ("agent", "I completely understand."),
            ),
            (
                ("agent", "You should see it on your account now, {name}."),
                ("customer", "I do. It's wrong that it took a complaint to get this fixed."),
                ("agent", "I'll pass that feedback on."),
                ("customer", "Sure you will."),
                ("system", "Customer has left the chat"),
            ),
            (
                (
                    "agent",
                    "I've looked into it, and it's working as intended. "
                    "That's just how the system handles it, there's no fault on your account.",
                ),
                ("customer", "So it's meant to be this awkward, brilliant."),
                ("agent", "I'm afraid so. At least you know nothing's broken."),
                ("customer", "I suppose. Not what I wanted to hear."),
            ),
            (
                (
                    "agent",
                    "Following up on your message: the change you asked for has now been applied, "
                    "and you'll find it reflected in your account.",
                ),
                ("customer", "Received. It should not have taken five days to get a reply."),
            ),
            (
                ("agent", "Okay, there we go. That's you done."),
                ("customer", "Is that it? After all that?"),
                ("agent", "That's it, yes. It was a one-click thing once I could get into the back end."),
                ("customer", "Unbelievable. Thanks, I guess."),
            ),
            (
                (
                    "agent",
                    "I've gone ahead and done it. If it ever happens again, ask for {team} directly "
                    "and they can sort it too.",
                ),
                ("customer", "I'd rather it didn't happen again, thanks."),
                ("agent", "Fair enough, is there anything else?"),
                ("customer", "Nope."),
                ("system", "Conversation closed by agent"),
            ),
            (
                ("customer", "Let me check... yes, it's there now."),
                ("agent", "Wonderful, glad we got there."),
                ("customer", "Got there is one way of putting it, bye."),
            ),
            (
                ("agent", "It's all been reprocessed and the confirmation number is {ticket}."),
                ("customer", "I'm writing that down, because frankly I don't trust it."),
                ("agent", "That's completely fine, keep it handy."),
            ),
            (
                (
                    "agent",
                    "We could have set up a callback with the specialist, but there's no need now, I've done it here.",
                ),
                ("customer", "Good, because I've been passed around enough this week."),
                ("agent", "Sorry about all that."),
                ("customer", "Yeah, so am I."),
            ),
            (
                ("agent", "All done on my end."),
                ("customer", "I'm not going to say thanks, because this was your mistake in the first place."),
                ("agent", "That's fair, {name}. It's fixed now."),
                ("system", "[Customer ended the call]"),
            ),
            (
                (
                    "customer",
                    "Right, I can see it's changed on the app. So you could have done this on {date} "
                    "when I first asked.",
                ),
                ("agent", "I'm sorry it wasn't done then. It's definitely in place now."),
                ("customer", "Hm, bye then."),
            ),
            (
                (
                    "agent",
                    "So that's your answer, unfortunately: it's not something we offer. "
                    "I've checked with my lead to be sure.",
                ),
                ("customer", "Then your website shouldn't suggest you do."),
                ("agent", "I'll flag that with the web team, you're right that it's confusing."),
                ("customer", "Disappointing, but at least you were straight with me."),
            ),
            (
                ("agent", "Your order {order} is updated and the email should land any second."),
                ("customer", "Got it, and next time I'll just shop somewhere else."),
                ("system", "Visitor closed the chat window"),
            ),
            (
                ("agent", "I've put that through as a one-off, so you won't have to do anything."),
                ("customer", "A one-off. So next month I'll be back here doing this again."),
                ("agent", "Hopefully not, I've corrected the setting as well."),
                ("customer", "Hopefully, yeah."),
            ),
            (
                ("system", "[hold 06:48]"),
                ("agent", "Thanks for holding. That's finished now, everything's gone through."),
                ("customer", "Nearly seven minutes of that music. Is that everything?"),
                ("agent", "That's everything."),
                ("customer", "Fine, goodbye."),
            ),
        ),
        "neutral": (
            (
                ("agent", "That's done. You'll see the change next time you log in."),
                ("customer", "Okay, noted."),
            ),
            (
                ("customer", "So that's processed?"),
                ("agent", "Yes, as of now. The confirmation reference is {ticket}."),
                ("customer", "Right, got it, thanks."),
                ("agent", "You're welcome, have a good day."),
            ),
            (
                ("agent", "I've updated the details on your account as requested."),
                ("customer", "Understood, thank you."),
                ("system", "Chat ended by agent"),
            ),
            (
                (
                    "agent",
                    "To answer your question, yes, you can do that yourself in the app under Settings, "
                    "and I've also done it for you this time.",
                ),
                ("customer", "Alright, I'll remember that for next time."),
            ),
            (
                ("agent", "Order {order} now shows the correct information."),
                ("customer", "Yep, I see it."),
                ("agent", "Anything else I can do?"),
                ("customer", "No, that was it."),
                ("system", "Call completed - agent wrap-up"),
            ),
            (
                ("agent", "I've checked, and that's correct as it stands. Nothing needs changing."),
                ("customer", "Okay, so I can leave it as is."),
                ("agent", "Exactly."),
                ("customer", "Fine, thanks."),
            ),
            (
                ("agent", "The request is complete. There's nothing further you need to do."),
                ("customer", "Good, that's clear."),
            ),
            (
                (
                    "agent",
                    "Hi {name}, just confirming that the change you requested has been made. Kind regards, {agent}",
                ),
                ("customer", "Thanks for confirming."),
            ),
            (
                ("customer", "And that's the final amount, {amount}?"),
                ("agent", "That's the final amount, yes, nothing else will be added."),
                ("customer", "Okay."),
                ("agent", "Great, thanks for contacting {company}."),
            ),
            (
                (
                    "agent",
                    "I could book a call with a specialist if you want extra reassurance, "
                    "but honestly it's all in order.",
                ),
                ("customer", "No, that's fine, I don't need a call."),
                ("agent", "Okay, it's done then."),
                ("customer", "Right, bye."),
            ),
            (
                ("agent", "Alright, it's gone through. You should get a text in a minute."),
                ("customer", "Just got it."),
                ("agent", "Perfect, anything else?"),
                ("customer", "Nope, that's all."),
            ),
            (
                ("agent", "I've reset it from our end, so you can go ahead and try again now."),
                ("customer", "One sec... yes, that's worked."),
                ("agent", "Good stuff."),
                ("customer", "Okay, I'll let you go."),
            ),
            (
                ("agent", "Everything's in place. Is there anything else on your list?"),
                ("customer", "That's everything for today."),
                ("system", "The conversation has been marked as complete."),
            ),
            (
                ("customer", "Okay so just to recap, it's changed and I don't need to resubmit anything."),
                ("agent", "Correct on both counts."),
                ("customer", "Noted."),
            ),
            (
                ("agent", "That's it from my side. The email confirmation has the details in writing."),
                ("customer", "Fine, I'll look out for it."),
                ("system", "Agent {agent} closed the chat"),
            ),
            (
                ("agent", "So the answer is yes, it's covered, and you don't need to pay anything extra."),
                ("customer", "Okay, that's what I needed to know."),
                ("agent", "Glad I could clear that up."),
            ),
            (
                ("customer", "Is it showing now on your end?"),
                ("agent", "It is, it updated a second ago."),
                ("customer", "Mine too."),
                ("agent", "Great, then you're all set."),
            ),
            (
                ("agent", "I've made that adjustment for you. It takes effect from {date}."),
                ("customer", "From {date}, okay."),
                ("agent", "Anything else I can help with?"),
                ("customer", "No thanks."),
            ),
            (
                ("agent", "Done, and I've also emailed you a summary."),
                ("customer", "Right you are."),
                ("system", "[Call ended - duration 08:14]"),
            ),
            (
                ("customer", "I tried it again and it's fine now."),
                ("agent", "Good, it was a glitch on the account and I've cleared it."),
                ("customer", "Okay, thanks for that."),
            ),
            (
                ("agent", "Just checking you're still there? The change is complete."),
                ("customer", "Yes, still here. Saw the notification."),
                ("agent", "Great, then we're done."),
                ("customer", "Cheers."),
            ),
            (
                (
                    "agent",
                    "You're well within the time limit, so that's fine to go ahead, and I've logged it for you.",
                ),
                ("customer", "Alright, good."),
            ),
            (
                ("agent", "I'll read it back: updated today, confirmation {ticket}, nothing else pending."),
                ("customer", "Yes, that matches what I have."),
                ("agent", "Lovely. Thanks for your time."),
                ("customer", "Bye now."),
            ),
            (
                ("customer", "So I don't need to call anyone else about it?"),
                ("agent", "No, it's all handled here. There's no need for a follow-up."),
                ("customer", "Okay, good. That's it then."),
            ),
            (
                ("agent", "I've completed that. If you'd like, I can stay on while you check."),
                ("customer", "No need, I trust it."),
            ),
            (
                ("agent", "Your account's been updated, and it's effective immediately."),
                ("customer", "Understood, cheers."),
                ("agent", "Anything else before I let you go?"),
                ("customer", "Nothing else."),
            ),
            (
                ("agent", "That's everything processed. Thanks for waiting."),
                ("customer", "No problem, thanks."),
                ("system", "Chat transcript sent to customer email"),
            ),
            (
                (
                    "agent",
                    "I found it. It was just sitting in a pending state; I've pushed it through now.",
                ),
                ("customer", "Okay, so it'll go out as normal?"),
                ("agent", "As normal, yes."),
                ("customer", "Fine, that's all I needed."),
            ),
        ),
        "positive": (
            (
                ("agent", "And that's done! You should get the confirmation any second."),
                ("customer", "Oh brilliant, it's just come through. Thank you so much."),
                ("agent", "My pleasure, {name}. Have a lovely day."),
            ),
            (
                ("customer", "That's it? Wow, that was so much easier than I expected."),
                ("agent", "Yep, that's all there is to it! All sorted."),
                ("customer", "Honestly you've made my day, thanks {agent}."),
            ),
            (
                (
                    "agent",
                    "I've taken care of it, and I've added a note so you won't have to explain it all again.",
                ),
                ("customer", "That's really thoughtful, thank you."),
                ("system", "Customer rated this chat 5/5"),
            ),
            (
                (
                    "agent",
                    "I could pass this to {team}, but actually I have access to do it myself, "
                    "so let me just... there, done.",
                ),
                ("customer", "Oh amazing, I was dreading being passed around."),
                ("agent", "No need! Anything more I can do?"),
                ("customer", "No, that's perfect. Thanks a million."),
            ),
            (
                ("agent", "Good news, it's gone through on order {order}."),
                ("customer", "Yay! Thank you, I was really worried about that."),
            ),
            (
                ("customer", "I just checked and it's all showing correctly now."),
                ("agent", "Fantastic, glad to hear it."),
                ("customer", "Thanks so much for your help, you've been great."),
                ("agent", "Anytime, take care."),
            ),
            (
                ("agent", "So yes, you're absolutely fine, nothing's been charged and nothing will be."),
                ("customer", "Phew. That's a weight off my mind, thank you."),
            ),
            (
                ("agent", "All updated. Is there anything else I can help with today?"),
                ("customer", "No, that's everything. You've been really patient with me, I appreciate it."),
                ("agent", "Not at all, it was a pleasure."),
                ("system", "*** Session ended ***"),
            ),
            (
                ("agent", "There we go, that's sorted."),
                ("customer", "You're a lifesaver."),
                ("agent", "Happy to help!"),
                ("customer", "I'll be sure to mention you in the survey."),
            ),
            (
                ("customer", "Oh that's worked! I've been trying to do that for a week."),
                ("agent", "Sometimes it just needs a nudge from our side."),
                ("customer", "Well thank you for nudging it."),
            ),
            (
                (
                    "agent",
                    "Dear {name}, I'm happy to confirm that everything has now been updated. "
                    "Please don't hesitate to get in touch if you need anything else.",
                ),
                ("customer", "Thank you for sorting this so quickly, much appreciated."),
            ),
            (
                ("agent", "Done and dusted."),
                ("customer", "Legend. Cheers, mate."),
                ("system", "[call ended]"),
            ),
            (
                ("agent", "I've fixed it, and I've popped a small goodwill credit on the account for the trouble."),
                ("customer", "Oh you didn't have to do that! Thank you, that's really kind."),
                ("agent", "It's the least we could do."),
            ),
            (
                ("agent", "Just to confirm, the answer is yes, you can absolutely do that."),
                ("customer", "Great, that's exactly what I was hoping for."),
                ("agent", "Anything else on your mind?"),
                ("customer", "No, that's it. Thanks for being so clear."),
            ),
            (
                ("customer", "Honestly, last time I called it was a nightmare, so this was a nice surprise."),
                ("agent", "I'm glad it went smoothly today, and it's all finished."),
                ("customer", "Thank you, {agent}. Have a good one."),
            ),
            (
                (
                    "agent",
                    "I was going to book you a callback from a specialist, but I managed to get it working here.",
                ),
                ("customer", "Even better! I didn't fancy waiting around for a call."),
                ("agent", "You're all set then."),
                ("customer", "Thanks again."),
            ),
            (
                ("agent", "Everything's in order now, {name}."),
                ("customer", "Perfect, that's a relief. My partner will be happy too."),
                ("agent", "Ha, glad to keep the peace!"),
            ),
            (
                ("customer", "Did it work?"),
                ("agent", "It did! You'll see it updated on your side in a minute or two."),
                ("customer", "Yes, there it is. Wonderful, thank you."),
                ("system", "Chat closed by agent"),
            ),
            (
                ("agent", "I've completed that for you and sent the details over by email."),
                ("customer", "Got it already. Really appreciate how quick that was."),
            ),
            (
                ("agent", "So that's all fixed, and it shouldn't happen again."),
                ("customer", "Fingers crossed! Thanks for explaining what went wrong, that helps."),
                ("agent", "Of course, any time."),
            ),
            (
                ("agent", "You're all set. Thanks for your patience while I looked into it."),
                ("customer", "No, thank you! Best customer service I've had in ages."),
                ("agent", "That's lovely to hear."),
            ),
            (
                ("customer", "Ah, so it was that simple. Thanks for walking me through it."),
                ("agent", "No worries at all."),
                ("customer", "I'll know for next time. Have a great weekend."),
            ),
            (
                ("agent", "Alright, that's processed, confirmation number {ticket}."),
                ("customer", "Got it, written down. Thank you, that's such a relief."),
                ("agent", "You're very welcome."),
                ("system", "[Call ended by agent]"),
            ),
            (
                ("agent", "I've put that through for {date}, so it's all lined up."),
                ("customer", "Fantastic, that works perfectly for me."),
                ("agent", "Great, anything else?"),
                ("customer", "Nope, you've sorted everything, thank you!"),
            ),
            (
                ("agent", "It's working again on our end. Could you try once more?"),
                ("customer", "Yes, it went straight through this time!"),
                ("agent", "Brilliant, glad to hear it."),
                ("customer", "Thank you so so much."),
            ),
            (
                ("customer", "I was expecting to be on the phone all afternoon, so thank you."),
                ("agent", "Ha, not today. It's all done."),
                ("customer", "Cheers {agent}, you're a star."),
            ),
            (
                ("agent", "That's changed for you, and I've double-checked it's saved."),
                ("customer", "Lovely, thanks ever so much."),
                ("agent", "Take care now."),
                ("customer", "You too, bye!"),
            ),
            (
                ("agent", "Happy to confirm the order {order} is all good to go."),
                ("customer", "Oh that's great news. Thanks for checking for me."),
                ("system", "Visitor rated the conversation: Great"),
            ),
        ),
    },
    "unresolved": {
        "negative": (
            (
                ("agent", "I'm sorry, but I'm not able to make an exception on this one."),
                ("customer", "Then I'll just dispute it with my bank."),
                ("agent", "I understand, is there anything else I can..."),
                ("system", "*** Customer disconnected ***"),
            ),
            (
                ("customer", "Hello? Anyone there?"),
                ("customer", "I've been waiting ten minutes for a reply."),
                ("customer", "Forget it."),
                ("system", "Chat ended by the visitor at 16:02"),
            ),
            (
                (
                    "agent",
                    "Unfortunately our system is down at the moment, so I can't make any changes. "
                    "Could you try again later today?",
                ),
                ("customer", "You're joking. I've been on hold for half an hour for that."),
                ("agent", "I'm really sorry, it's affecting everyone right now."),
                ("customer", "Unbelievable, honestly."),
                ("system", "[call ended by caller after 31:40]"),
            ),
            (
                ("agent", "I've done everything I can from my side, I'm afraid there's nothing more I can do."),
                ("customer", "So that's it? I'm just stuck with it?"),
                ("agent", "I'm sorry."),
                ("customer", "Right, I'm done with {company}."),
            ),
            (
                ("customer", "This is pointless. I'll buy it somewhere else."),
                ("system", "Customer left the conversation"),
            ),
            (
                ("agent", "Our policy doesn't allow that after {date}, I'm afraid."),
                ("customer", "That's a terrible policy and you know it."),
                ("agent", "I do understand your frustration."),
                ("customer", "No, you don't. Goodbye."),
            ),
            (
                ("customer", "I already gave it to the last agent. Twice."),
                ("agent", "I'm sorry, I need it again to access the account. Could you type it here?"),
                ("system", "No response from customer - session closed"),
            ),
            (
                ("agent", "I can see the problem, but the tool I'd need to fix it isn't working for me today."),
                ("customer", "Of course it isn't."),
                ("agent", "If you try again tomorrow it should be back up."),
                ("customer", "I shouldn't have to try again. This is ridiculous."),
                ("system", "Call terminated by caller"),
            ),
            (
                ("customer", "I've asked three times now and nobody can do anything."),
                ("agent", "I'm sorry, this just isn't something we're able to change."),
                ("customer", "Then I'm cancelling my card payment and leaving a review everywhere I can."),
            ),
            (
                ("agent", "Is there anything else you'd like to..."),
                ("customer", "No, you haven't helped with the first thing."),
                ("system", "[The customer has ended the chat]"),
            ),
            (
                ("agent", "I'm afraid that's the final decision on it."),
                (
                    "customer",
                    "Final decision, right. Well, my final decision is I'm not shopping here again.",
                ),
            ),
            (
                ("customer", "So what am I meant to do then?"),
                ("agent", "Honestly, there isn't another option I can offer right now."),
                ("customer", "Brilliant, thanks for nothing."),
                ("system", "--- Conversation ended ---"),
            ),
            (
                ("customer", "This is taking forever, I have other things to do."),
                ("agent", "Are you still with me?"),
                ("agent", "I haven't heard from you in a while, so I'll close this chat now."),
                ("system", "Chat closed due to inactivity"),
            ),
            (
                ("agent", "The whole site's having issues right now, and I can't say when it'll be back."),
                ("customer", "So I've wasted my lunch break."),
                ("agent", "I'm really sorry about that."),
                ("customer", "Sorry doesn't fix it."),
            ),
            (
                ("customer", "Fine, I'll go through my bank, they'll get my money back."),
                ("agent", "That's your right, of course. I'm sorry I couldn't do more."),
                ("system", "*** Caller hung up ***"),
            ),
            (
                ("agent", "I understand, but I can't override what the system says."),
                ("customer", "Then what's the point of you?"),
                ("agent", "I'm sorry you feel that way."),
                ("system", "Disconnected by remote party"),
            ),
            (
                ("customer", "I'm not waiting on hold again. Forget this."),
                ("system", "[call dropped by customer at 12:47]"),
            ),
            (
                ("agent", "Unfortunately we can't do anything until the system comes back online."),
                ("customer", "And when is that?"),
                ("agent", "I don't have a time, sorry. It could be a few hours."),
                ("customer", "Great. Really great."),
            ),
            (
                ("customer", "I've been going round in circles with you people for two weeks."),
                ("agent", "I understand, and I'm sorry. Unfortunately nothing's changed on my side."),
                ("customer", "Then I'm reporting you to trading standards."),
                ("system", "Chat ended by customer"),
            ),
            (
                ("agent", "I'm afraid I can't give out that information."),
                ("customer", "It's MY account."),
                ("agent", "I know, but without the verification I can't go any further."),
                ("customer", "This is absurd. I give up."),
            ),
            (
                ("customer", "Ok whatever. I'll sort it myself."),
                ("system", "Visitor has left"),
            ),
            (
                ("agent", "There's genuinely nothing more I can try here."),
                ("customer", "So I'm out {amount} and that's just tough luck."),
                ("agent", "I'm sorry it's not the answer you wanted."),
                ("customer", "It's not an answer at all."),
            ),
            (
                ("agent", "Our system isn't letting me in right now, could you give it an hour and try again?"),
                ("customer", "An hour, sure. Because I've got nothing else to do."),
                ("system", "[Call ended - customer]"),
            ),
            (
                ("customer", "I'll take my business to a competitor, at least they answer the phone."),
                ("agent", "I'm sorry to hear that, {name}."),
                ("system", "The customer has disconnected"),
            ),
            (
                ("agent", "We simply don't offer that, I'm afraid."),
                ("customer", "Other shops do."),
                ("agent", "I understand."),
                ("customer", "Then I'll use one of them, bye."),
            ),
            (
                (
                    "agent",
                    "Unfortunately we are unable to help further with this request, as it falls outside our terms.",
                ),
                ("customer", "That is not acceptable. I will be raising a chargeback with my card provider."),
            ),
            (
                ("customer", "You're not listening to me."),
                ("agent", "I am listening, I just don't have a way to change it."),
                ("customer", "Forget it, I'm hanging up."),
                ("system", "*** Line disconnected ***"),
            ),
            (
                ("agent", "Sorry, I just need you to confirm a couple more details."),
                ("customer", "I've confirmed everything already."),
                ("agent", "I'm sorry, I can't proceed without them."),
                ("system", "[no reply from customer for 10 minutes, conversation closed]"),
            ),
        ),
        "neutral": (
            (
                (
                    "agent",
                    "Our system's down at the moment, so I can't access anything. Could you try again later?",
                ),
                ("customer", "Okay, I'll try later."),
            ),
            (
                ("customer", "Let me find the details, one sec."),
                ("agent", "Just checking in, do you still need help with this?"),
                ("system", "Session timed out: no response from visitor"),
            ),
            (
                ("agent", "I'm afraid that's not something we're able to do."),
                ("customer", "Okay, I'll look into other options then."),
                ("agent", "Understood, sorry I couldn't help more."),
            ),
            (
                ("customer", "Right, I need to go, I'll sort it another time."),
                ("agent", "No problem."),
                ("system", "[call ended by caller]"),
            ),
            (
                ("agent", "I've checked, and unfortunately there's nothing I can change from here."),
                ("customer", "Alright, I'll leave it then."),
            ),
            (
                ("agent", "The tool I need is offline for maintenance until this evening."),
                ("customer", "Fine, I'll come back to it tomorrow."),
                ("agent", "Thanks for understanding."),
            ),
            (
                ("customer", "I don't have the order number to hand, I'll have to find it."),
                ("agent", "No problem, without it I can't look any further though."),
                ("customer", "Understood, I'll get in touch again when I've got it."),
                ("system", "Chat ended"),
            ),
            (
                ("agent", "We can't make changes once it reaches this stage, I'm afraid."),
                ("customer", "Okay, so there's nothing to be done."),
                ("agent", "Not on this one, no."),
                ("customer", "Right then."),
            ),
            (
                ("customer", "Hang on, something's come up at home."),
                ("system", "Visitor is idle"),
                ("agent", "I'll have to close the chat if I don't hear back in the next minute."),
                ("system", "This chat was closed because the visitor was inactive."),
            ),
            (
                ("agent", "I can't see any record of it on our side, so there's nothing I can action."),
                ("customer", "Okay, I'll check my emails and see what I've got."),
            ),
            (
                ("customer", "Actually I'll just leave it for now."),
                ("agent", "Are you sure? We can keep going if you like."),
                ("customer", "Yeah, it's fine, bye."),
            ),
            (
                ("agent", "The system's running really slowly today and it keeps timing out on me."),
                ("customer", "Okay, so should I try another day?"),
                ("agent", "That would probably be best, sorry."),
                ("customer", "Alright."),
            ),
            (
                ("agent", "I can't do that over chat, I'm afraid, the account holder has to do it themselves online."),
                ("customer", "Okay, I'll ask my husband to do it."),
            ),
            (
                ("customer", "I'll have to try again when I'm home with my paperwork."),
                ("agent", "That's fine, we're here until 8."),
                ("customer", "Okay, will do."),
                ("system", "[disconnected by caller]"),
            ),
            (
                ("agent", "I'm not able to override that rule, I'm afraid."),
                ("customer", "Right, well, I don't agree with it, but okay."),
            ),
            (
                (
                    "agent",
                    "There's a wider outage affecting accounts today, we're expecting it to be fixed by tonight.",
                ),
                ("customer", "Okay, I'll check back tomorrow."),
            ),
            (
                ("customer", "Sorry, the connection's really bad, I can barely..."),
                ("system", "*** Call lost ***"),
            ),
            (
                ("agent", "I'm afraid I've tried everything I can on my side."),
                ("customer", "Okay, thanks for trying."),
            ),
            (
                ("agent", "Could you send me a photo of it?"),
                ("customer", "Not right now, I'm at work."),
                (
                    "agent",
                    "That's okay. Without it I can't go further, but you can start a new chat when you have it.",
                ),
                ("customer", "Sure."),
                ("system", "Conversation ended by visitor"),
            ),
            (
                ("customer", "So you can't change it."),
                ("agent", "No, I'm sorry, not once it's been confirmed."),
                ("customer", "Okay, well, thanks for checking anyway."),
            ),
            (
                ("agent", "Our records system is unavailable right now, so I can't pull up your history."),
                ("customer", "When's a good time to try again?"),
                ("agent", "Usually by the afternoon it's back."),
                ("customer", "Okay, I'll try this afternoon then."),
            ),
            (
                ("customer", "I'll go and double-check with my bank first."),
                ("agent", "Sure, that's a good idea."),
                ("customer", "Yep, bye."),
            ),
            (
                ("agent", "That's outside what I'm allowed to change, unfortunately."),
                ("customer", "I see, well, I'll think about what I want to do."),
                ("agent", "Of course."),
                ("system", "Customer ended the session"),
            ),
            (
                ("customer", "I'll leave it there for today."),
                ("agent", "Okay, sorry we didn't get further."),
                ("customer", "It's fine."),
            ),
            (
                ("customer", "Give me a minute, I'm looking for it."),
                ("agent", "Hello, are you still there?"),
                ("system", "Customer has not responded in 5 minutes. Chat closed automatically."),
            ),
            (
                ("agent", "I can't find a way to do that, I'm afraid. It's not an option on our end."),
                ("customer", "Fair enough. I'll manage."),
            ),
            (
                (
                    "agent",
                    "We can only do that from the email address on file, which you said you can't access.",
                ),
                ("customer", "Then I'll sort out the email first."),
                ("agent", "That sounds best."),
            ),
            (
                ("customer", "I'm going to have to go, my bus is here."),
                ("agent", "No problem at all."),
                ("system", "[caller disconnected 03:12]"),
            ),
        ),
        "positive": (
            (
                ("agent", "I'm sorry I couldn't do more today, the system just won't let me."),
                ("customer", "Don't worry, it's not your fault. Thanks for trying, honestly."),
            ),
            (
                ("agent", "Our system is down right now, so I'd suggest trying again in a couple of hours."),
                ("customer", "No worries at all, I'll do that. Thanks for letting me know!"),
            ),
            (
                ("customer", "Ah well, I'll just buy one in store. Thanks anyway, you've been lovely."),
                ("agent", "Aw, that's kind. Sorry I couldn't sort it."),
            ),
            (
                ("agent", "I'm afraid it's not something we can change."),
                ("customer", "That's okay, I appreciate you checking so thoroughly."),
                ("agent", "Happy to. Is there anything else?"),
                ("customer", "No, that's all. Have a great day!"),
            ),
            (
                ("customer", "I'll try it again tomorrow. Thanks so much for your patience with me."),
                ("agent", "You're very welcome, good luck with it."),
                ("system", "Visitor ended the chat."),
            ),
            (
                ("agent", "Unfortunately I've hit a dead end on my side."),
                ("customer", "Ha, well, you gave it a good go, thank you!"),
            ),
            (
                ("customer", "Honestly, don't worry about it, I'll figure something out."),
                ("agent", "I'm sorry we couldn't fix it today."),
                ("customer", "You've been really kind, that's what matters."),
            ),
            (
                ("agent", "The site's having a few problems right now, so I can't get into anything."),
                ("customer", "Oh, that's alright, these things happen! I'll pop back later."),
                ("agent", "Thank you for being so understanding."),
            ),
            (
                ("customer", "Thanks for explaining why it can't be done, that really helps."),
                ("agent", "No problem, I'm sorry the answer wasn't better."),
                ("customer", "It's fine, I'll work around it. Have a good evening."),
            ),
            (
                ("agent", "I've tried everything I can think of, I'm so sorry."),
                ("customer", "You've been great, honestly. I'll just leave it for now."),
                ("system", "[caller ended the call]"),
            ),
            (
                ("customer", "Oops, I've got to run, but thanks for your help so far!"),
                ("system", "Customer left the chat"),
            ),
            (
                ("agent", "That's not something we're able to do, I'm afraid."),
                ("customer", "Ah, shame. Never mind, thanks for being honest with me."),
            ),
            (
                ("agent", "Unfortunately the part of the system that handles this is down for maintenance."),
                ("customer", "Oh okay, good to know it's not me at least, thanks!"),
            ),
            (
                (
                    "customer",
                    "I'll have a look around and see if I can find another way. Thank you though, really.",
                ),
                ("agent", "Good luck, and sorry again."),
            ),
            (
                ("agent", "I can't find anything on my end that I can change."),
                ("customer", "That's alright. Thanks for spending so long on it with me."),
                ("agent", "Not at all."),
                ("customer", "Take care!"),
            ),
            (
                (
                    "customer",
                    "You know what, I'll just leave it. Not worth the stress. "
                    "Thanks for being so nice about it though.",
                ),
                ("agent", "Of course, {name}, look after yourself."),
            ),
            (
                ("agent", "Sorry, the connection to our database keeps dropping, I can't load your details."),
                ("customer", "No problem, I'm in no rush. I'll get back to you another day, cheers!"),
            ),
            (
                (
                    "customer",
                    "Okay, I'll go to the store in person and see what they say. Thank you for your help!",
                ),
                ("agent", "You're welcome, I hope they can sort it."),
                ("system", "Chat closed"),
            ),
            (
                ("agent", "I wish I had better news for you."),
                ("customer", "Ha, so do I! But thank you, you've been very patient."),
            ),
            (
                ("customer", "Never mind, I'll live without it. Thanks a lot for your time."),
                ("agent", "Sorry I couldn't help more today."),
                ("system", "[The visitor has ended the conversation]"),
            ),
            (
                ("agent", "We're not able to make any changes today, the system's locked while we update it."),
                ("customer", "Oh right, no worries. Thanks for the heads up!"),
            ),
            (
                ("agent", "I'm really sorry, it looks like I can't get this done for you today."),
                ("customer", "Honestly it's fine. You've been lovely, {agent}."),
                ("agent", "That's kind of you to say."),
            ),
            (
                ("customer", "I'll try the app later and see if that works instead, thanks!"),
                ("agent", "Good idea, fingers crossed."),
                ("system", "Conversation closed"),
            ),
            (
                ("agent", "Unfortunately that's just our policy."),
                ("customer", "I understand, rules are rules. Thanks for explaining it so nicely."),
            ),
            (
                (
                    "customer",
                    "I think I'll just wait and see if it sorts itself out. Thanks for listening!",
                ),
                ("agent", "Of course, enjoy the rest of your day."),
            ),
            (
                ("agent", "I'm not able to see any way to fix this right now."),
                ("customer", "That's alright, I appreciate you being upfront."),
                ("agent", "Sorry again."),
                ("customer", "No need to apologise, cheers."),
            ),
            (
                (
                    "customer",
                    "Oh, my battery's about to die, I'll have to try another time, thanks though!",
                ),
                ("system", "*** Call disconnected ***"),
            ),
            (
                ("agent", "So unfortunately there's nothing more I can do from here."),
                ("customer", "Okay, thank you for trying so hard. I really do appreciate it."),
                ("agent", "You're welcome, and I'm sorry it wasn't better news."),
            ),
        ),
    },
}
