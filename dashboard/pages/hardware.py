import streamlit as st; st.title('hardware')
